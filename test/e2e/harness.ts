import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type BrowserContextOptions, type Page, chromium } from 'playwright-core';
import { expect } from 'vitest';
import { createApp } from '../../src/app.ts';
import { TEST_DB, TEST_PASSWORD, type TestDb, createSeededDb } from '../factories.ts';

/**
 * What the browser test files share: Debian's Chromium driven by playwright-core against the real app on a seeded
 * demo database, in the SQLite pass only. Without /usr/bin/chromium the tests are skipped, unless
 * YKT_REQUIRE_E2E=1 makes that a failure (roles.test.ts registers that check).
 */
export const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SCREENSHOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-results/e2e');
export const TIMEOUT = 60_000;

export const onPg = TEST_DB === 'pg' || process.env.YKT_TEST_DB === 'pg';
export const hasChromium = fs.existsSync(CHROMIUM);
export const requireE2e = process.env.YKT_REQUIRE_E2E === '1';
/** Whether this file's browser tests are skipped here. */
export const skipE2e = onPg || !hasChromium;

export const pathOf = (page: Page) => new URL(page.url()).pathname;

export interface BrowserApp {
  db: TestDb;
  baseUrl: string;
  browser: Browser;
  /** A fresh browser context logged in as this demo user; close its context when done. */
  signIn(username: string, options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
  /** Go to the home page, which sends an anonymous visitor to the login page. */
  openLogin(page: Page): Promise<void>;
  stop(): Promise<void>;
}

/** The app on a demo database with its fake people (demo mode: no TOTP second factor), and a browser. */
export async function startBrowserApp(): Promise<BrowserApp> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const db = await createSeededDb({ demo: true }, { people: true });
  const server = http.createServer(createApp(db.core).callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });

  async function openLogin(page: Page) {
    await page.goto(`${baseUrl}/`);
    expect(pathOf(page)).toBe('/login');
    await expect.poll(() => page.locator('h1').textContent()).toBe('登录');
  }

  return {
    db,
    baseUrl,
    browser,
    openLogin,
    async signIn(username, options = {}) {
      const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 }, ...options });
      const page = await context.newPage();
      await openLogin(page);
      await page.fill('#f-username', username);
      await page.fill('#f-password', TEST_PASSWORD);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: '登录' }).click()]);
      return { context, page };
    },
    async stop() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.cleanup();
    },
  };
}
