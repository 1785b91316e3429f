import { chromium } from 'playwright-core';
const [,, user, ...paths] = process.argv;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
await page.goto('http://127.0.0.1:3991/login');
await page.fill('input[name=username]', user);
await page.fill('input[name=password]', 'Ykt#Demo2026');
await page.click('button[type=submit]');
await page.waitForLoadState('networkidle');
for (const [i, p] of paths.entries()) {
  await page.goto('http://127.0.0.1:3991' + p);
  await page.screenshot({ path: `/tmp/shot-${user}-${i}.png`, fullPage: true });
}
await browser.close();
