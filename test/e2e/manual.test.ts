import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAPTERS } from '../../src/core/help.ts';
import { TEST_PASSWORD } from '../factories.ts';
import { type BrowserApp, SCREENSHOT_DIR, TIMEOUT, pathOf, skipE2e, startBrowserApp } from './harness.ts';

/**
 * The manual's screenshots (docs/manual/, issue 16 item 8): each entry of docs/manual/shots.json is opened in a real
 * browser as its demo user, its heading checked (a screen that changed fails here until the manual follows it), and
 * photographed — into docs/manual/img/ with YKT_MANUAL_SHOTS=1 (`npm run manual:shots`), otherwise into the test
 * results, so that an ordinary run changes no tracked file. The Markdown and the table are checked against each other
 * on every run, with or without a browser (after the screenshots, so that `npm run manual:shots` checks the new files).
 */
const MANUAL_DIR = path.resolve(import.meta.dirname, '../../docs/manual');
const IMG_DIR = path.join(MANUAL_DIR, 'img');
const WRITE_MANUAL = process.env.YKT_MANUAL_SHOTS === '1';
const VIEWPORT = { width: 1000, height: 640 };

interface Shot {
  file: string;
  /** A demo username, or null for a visitor without login. */
  user: string | null;
  path: string;
  h1: string;
  /** A button the page must show, scrolled into the middle of the screenshot (the step the manual describes). */
  focus?: string;
}
const SHOTS: Shot[] = JSON.parse(fs.readFileSync(path.join(MANUAL_DIR, 'shots.json'), 'utf8')).shots;

const markdownFiles = () => fs.readdirSync(MANUAL_DIR).filter((f) => f.endsWith('.md'));
/** The images a Markdown file shows: ![alt](img/<file>). */
const imagesOf = (file: string) => [...fs.readFileSync(path.join(MANUAL_DIR, file), 'utf8').matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!);

describe.skipIf(skipE2e)('操作手册的截图（浏览器）', () => {
  let app: BrowserApp;
  const contexts = new Map<string, BrowserContext>();

  beforeAll(async () => {
    app = await startBrowserApp();
    if (WRITE_MANUAL) {
      fs.mkdirSync(IMG_DIR, { recursive: true });
      // A screenshot dropped from the table leaves the manual with it.
      const listed = new Set(SHOTS.map((s) => s.file));
      for (const file of fs.readdirSync(IMG_DIR)) if (!listed.has(file)) fs.rmSync(path.join(IMG_DIR, file));
    }
  }, TIMEOUT);

  afterAll(async () => {
    for (const context of contexts.values()) await context.close();
    await app?.stop();
  }, TIMEOUT);

  /** One browser context per user, logged in once (a visitor's is never logged in). */
  async function contextOf(user: string | null): Promise<BrowserContext> {
    const key = user ?? '';
    let context = contexts.get(key);
    if (!context) {
      context = await app.browser.newContext({ locale: 'zh-CN', viewport: VIEWPORT });
      if (user) {
        const page = await context.newPage();
        await app.openLogin(page);
        await page.fill('#f-username', user);
        await page.fill('#f-password', TEST_PASSWORD);
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: '登录' }).click()]);
        expect(pathOf(page), user).toBe('/');
        await page.close();
      }
      contexts.set(key, context);
    }
    return context;
  }

  for (const shot of SHOTS) {
    it(
      `${shot.file}：${shot.user ?? '群众（不登录）'} 打开 ${shot.path}，页面标题为“${shot.h1}”`,
      async () => {
        const page = await (await contextOf(shot.user)).newPage();
        try {
          const res = await page.goto(`${app.baseUrl}${shot.path}`, { waitUntil: 'load' });
          expect(res?.status(), shot.path).toBe(200);
          expect(pathOf(page)).toBe(shot.path.split('?')[0]);
          expect((await page.locator('h1').first().textContent())?.trim(), `${shot.path} 的标题变了：请更新手册和 docs/manual/shots.json`).toBe(shot.h1);
          if (shot.focus) {
            const button = page.getByRole('button', { name: shot.focus, exact: true }).first();
            expect(await button.count(), `${shot.path} 上没有“${shot.focus}”按钮：请更新手册和 docs/manual/shots.json`).toBe(1);
            await button.evaluate((el) => el.scrollIntoView({ block: 'center' }));
          }
          const file = path.join(WRITE_MANUAL ? IMG_DIR : SCREENSHOT_DIR, WRITE_MANUAL ? shot.file : `manual-${shot.file}`);
          await page.screenshot({ path: file, fullPage: false });
          expect(fs.statSync(file).size).toBeGreaterThan(1000);
        } finally {
          await page.close();
        }
      },
      TIMEOUT,
    );
  }
});

describe('操作手册与截图清单一致', () => {
  it('每章都在，每张引用的截图都在清单和 img/ 中，清单的每张截图都被引用', () => {
    const files = markdownFiles();
    expect(files).toContain('README.md');
    for (const c of CHAPTERS) expect(files, c.slug).toContain(`${c.slug}.md`);
    const listed = new Set(SHOTS.map((s) => s.file));
    expect(listed.size, 'shots.json 中有重复的文件名').toBe(SHOTS.length);
    const referenced = new Set<string>();
    for (const file of files) {
      for (const src of imagesOf(file)) {
        const m = /^img\/([a-z0-9-]+\.png)$/.exec(src);
        expect(m, `${file} 引用的图片 ${src} 应为 img/<小写字母、数字、连字符>.png`).not.toBeNull();
        const name = m![1]!;
        expect(listed.has(name), `${file} 引用的 ${name} 不在 shots.json 中`).toBe(true);
        expect(fs.existsSync(path.join(IMG_DIR, name)), `${file} 引用的 ${name} 不在 docs/manual/img/ 中（npm run manual:shots）`).toBe(true);
        referenced.add(name);
      }
    }
    for (const shot of SHOTS) expect(referenced.has(shot.file), `shots.json 的 ${shot.file} 没有任何一章引用`).toBe(true);
    // Nothing else lies in img/: every file there is one of the table's.
    for (const file of fs.readdirSync(IMG_DIR)) expect(listed.has(file), `docs/manual/img/${file} 不在 shots.json 中`).toBe(true);
  });

  // What a reader on a weak connection downloads is one chapter: each image and each chapter's images stay small.
  it('截图不大：每张不超过 200 KB，每章的截图合计不超过 600 KB', () => {
    const sizeOf = (file: string) => fs.statSync(path.join(IMG_DIR, file)).size;
    for (const shot of SHOTS) expect(sizeOf(shot.file), shot.file).toBeLessThan(200 * 1024);
    for (const file of markdownFiles()) {
      const total = imagesOf(file).reduce((sum, src) => sum + sizeOf(src.replace(/^img\//, '')), 0);
      expect(total, file).toBeLessThan(600 * 1024);
    }
  });
});
