import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { type BrowserApp, SCREENSHOT_DIR, TIMEOUT, skipE2e, startBrowserApp } from './harness.ts';

/**
 * Through a real browser (see harness.ts): every file link downloads, with and without JavaScript; pages fit a
 * phone's screen; a running upload shows that it runs and cannot be sent twice.
 */

/** An address that names a file: an extension, or a payout file's format (…/csv, …/csv-gb18030/sm3). */
const FILE_HREF = /\.(pdf|xlsx|xls|csv|txt|json|zip)(\?|$)|\/(csv|csv-gb\d+|xlsx|txt|sm3)(\?|$)/;
/** How far from the first page the crawl follows links. */
const MAX_DEPTH = 2;
const PHONE = { width: 360, height: 740 };

/** Pages of one kind (the same path but for its numbers, the same query keys) are visited once. */
function kindOf(href: string): string {
  const url = new URL(href);
  return `${url.pathname.replace(/\d+/g, 'N')}?${[...url.searchParams.keys()].sort().join('&')}`;
}

/** Click the link and expect a download of a named file, the page left as it was. */
async function expectDownload(page: Page, rawHref: string): Promise<string> {
  const url = page.url();
  const heading = await page.evaluate(() => document.querySelector('h1')?.textContent);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`a[href="${rawHref}"]`).first().click()]);
  expect(await download.failure(), rawHref).toBeNull();
  expect(download.suggestedFilename(), rawHref).toMatch(/\.(pdf|xlsx|csv|txt|sm3|sig|pem|json|png|jpe?g)$/);
  expect(page.url(), rawHref).toBe(url);
  expect(await page.evaluate(() => document.querySelector('h1')?.textContent), rawHref).toBe(heading);
  return download.suggestedFilename();
}

/**
 * Visit every kind of page reachable from `start` (MAX_DEPTH links deep) and click each file link found there
 * (a link with the download attribute or an address naming a file). Returns the names of the files downloaded.
 * Each click is on a freshly loaded page: Chromium here drops an occasional download (about one in twenty) when
 * many links of one page are clicked in quick succession, with or without JavaScript.
 */
async function downloadEveryFileLink(page: Page, start: string[]): Promise<string[]> {
  const origin = new URL(start[0]!).origin;
  const visited = new Set<string>();
  const clicked = new Set<string>();
  const files: string[] = [];
  const queue = start.map((url) => ({ url, depth: 0 }));
  while (queue.length) {
    const { url, depth } = queue.shift()!;
    if (visited.has(kindOf(url))) continue;
    visited.add(kindOf(url));
    const res = await page.goto(url);
    if (res?.status() !== 200) continue;
    const links = await page.$$eval('a[href]', (as) => as.map((a) => ({ raw: a.getAttribute('href')!, url: (a as HTMLAnchorElement).href, download: a.hasAttribute('download') })));
    let fresh = true;
    for (const link of links) {
      if (new URL(link.url).origin !== origin) continue;
      if (link.download || FILE_HREF.test(link.raw)) {
        if (clicked.has(link.url)) continue;
        clicked.add(link.url);
        if (!fresh) await page.goto(url);
        fresh = false;
        files.push(await expectDownload(page, link.raw));
      } else if (depth < MAX_DEPTH && !visited.has(kindOf(link.url))) {
        queue.push({ url: link.url.replace(/#.*$/, ''), depth: depth + 1 });
      }
    }
  }
  return files;
}

/** The cells of these columns whose text runs over more than one line. */
async function wrappedNames(page: Page, columns: string[]): Promise<string[]> {
  return page.evaluate((columns) => {
    const wrapped: string[] = [];
    for (const table of document.querySelectorAll('table')) {
      const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent?.trim() ?? '');
      for (const column of columns) {
        const i = heads.indexOf(column);
        if (i < 0) continue;
        for (const row of table.querySelectorAll('tbody tr')) {
          const text = row.children[i]?.firstChild;
          if (!text || text.nodeType !== Node.TEXT_NODE || !text.textContent?.trim()) continue;
          const range = document.createRange();
          range.selectNodeContents(text);
          if (range.getClientRects().length > 1) wrapped.push(`${column}：${text.textContent}`);
        }
      }
    }
    return wrapped;
  }, columns);
}

describe.skipIf(skipE2e)('下载、手机屏幕与办理中的反馈', () => {
  let app: BrowserApp;

  beforeAll(async () => {
    app = await startBrowserApp();
  }, TIMEOUT);

  afterAll(async () => {
    await app?.stop();
  }, TIMEOUT);

  /** A bad registry file (one wrong check character): refused whole, so uploading it changes nothing. */
  async function badRegistryFile() {
    const rows = registryFileRows(fakeHouseholds({ households: 2, villages: ['东关社区'], seed: 23 }));
    const cells = rows.map((r, i) => (i === 0 ? [r[0]!, r[1]!, `${r[2]!.slice(0, 17)}0`, ...r.slice(3)] : r));
    return { name: '东关社区花名册.xlsx', mimeType: 'application/octet-stream', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, cells) };
  }

  for (const username of ['finance', 'dept_agri', 'station1', 'bank']) {
    it(
      `${username}：从工作台可到达的页面上，每个文件链接点击后都是下载，页面不被文件内容替换`,
      async () => {
        const { context, page } = await app.signIn(username);
        try {
          const files = await downloadEveryFileLink(page, [`${app.baseUrl}/`]);
          expect(files.some((f) => f.endsWith('政策清单.pdf')), files.join('、')).toBe(true);
          expect(files.some((f) => f.endsWith('政策清单.xlsx')), files.join('、')).toBe(true);
          if (username === 'dept_agri') expect(files).toContain('青禾县农业农村局补贴项目.xlsx');
          if (username === 'station1') expect(files.some((f) => f.startsWith('受益对象导入模板'))).toBe(true);
          if (username === 'bank') expect(files.filter((f) => f.endsWith('.sm3')).length).toBeGreaterThan(0);
        } finally {
          await context.close();
        }
      },
      TIMEOUT * 3,
    );
  }

  for (const javaScriptEnabled of [true, false]) {
    it(
      `未登录${javaScriptEnabled ? '' : '且禁用 JavaScript'}：公开页面上的 PDF 和 Excel 链接点击后都是下载`,
      async () => {
        const context = await app.browser.newContext({ locale: 'zh-CN', javaScriptEnabled });
        try {
          const page = await context.newPage();
          const files = await downloadEveryFileLink(page, [`${app.baseUrl}/public/policies`, `${app.baseUrl}/public/failed-payments`]);
          expect(files).toEqual(expect.arrayContaining([expect.stringMatching(/政策清单\.pdf$/), expect.stringMatching(/政策清单\.xlsx$/)]));
        } finally {
          await context.close();
        }
      },
      TIMEOUT,
    );
  }

  it(
    '手机（360 像素宽）：公开页面和清册页面不横向滚动，表格在自己的框内滚动，姓名和村名不折行',
    async () => {
      const county = await app.db.core.db('core_region').where({ level: 'county' }).first('id');
      const anonymous = await app.browser.newContext({ locale: 'zh-CN', viewport: PHONE });
      try {
        const page = await anonymous.newPage();
        for (const p of ['/public/policies', `/public/policies?county=${county.id}`, '/public/failed-payments', `/public/failed-payments?county=${county.id}`, '/login']) {
          await page.goto(`${app.baseUrl}${p}`);
          expect(await page.evaluate(() => document.documentElement.scrollWidth), p).toBeLessThanOrEqual(PHONE.width);
          expect(await wrappedNames(page, ['姓名', '村（社区）', '乡镇']), p).toEqual([]);
        }
        await page.goto(`${app.baseUrl}/public/policies?county=${county.id}`);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'phone-public-policies.png') });
      } finally {
        await anonymous.close();
      }

      const rosters = await app.db.core.db('batch_roster as s').join('core_region as t', 't.id', 's.township_id').where('t.name', '城关镇').orderBy('s.id').select('s.id');
      expect(rosters.length).toBeGreaterThan(0);
      const station = await app.signIn('station1', { viewport: PHONE });
      try {
        for (const { id } of rosters) {
          await station.page.goto(`${app.baseUrl}/rosters/${id}`);
          expect(await station.page.evaluate(() => document.documentElement.scrollWidth), `/rosters/${id}`).toBeLessThanOrEqual(PHONE.width);
          expect(await wrappedNames(station.page, ['姓名', '村（社区）']), `/rosters/${id}`).toEqual([]);
        }
        await station.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'phone-roster.png'), fullPage: true });
      } finally {
        await station.context.close();
      }
    },
    TIMEOUT * 2,
  );

  it(
    '上传时按钮被禁用并标明“正在处理”，再次点击不会重复提交；禁用 JavaScript 时上传照常工作',
    async () => {
      const { context, page } = await app.signIn('station1');
      try {
        await page.goto(`${app.baseUrl}/beneficiaries/import`);
        // Hold the upload at the browser until the page has been looked at while it runs.
        const posts: Request[] = [];
        let release!: () => void;
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        await page.route('**/beneficiaries/import', async (route) => {
          if (route.request().method() === 'POST') {
            posts.push(route.request());
            await held;
          }
          await route.continue();
        });
        await page.setInputFiles('#f-file', await badRegistryFile());
        const button = page.locator('form[enctype="multipart/form-data"] button[type="submit"]');
        await button.click();

        await expect.poll(() => button.isDisabled()).toBe(true);
        expect(await button.evaluate((b) => getComputedStyle(b, '::after').content)).toContain('正在处理');
        expect(await page.locator('#busy').getAttribute('class')).toContain('htmx-request');
        await button.click({ force: true }); // a second click on the disabled button
        expect(posts).toHaveLength(1);
        expect(posts[0]!.headers()['hx-request'], 'the upload goes through htmx').toBe('true');
        release();

        await expect.poll(() => page.locator('.error-summary').innerText()).toContain('文件未导入');
        expect(posts).toHaveLength(1);
        expect(await button.isDisabled()).toBe(false);
        expect(await page.locator('#busy').getAttribute('class')).not.toContain('htmx-request');
      } finally {
        await context.close();
      }

      const plain = await app.signIn('station1', { javaScriptEnabled: false });
      try {
        await plain.page.goto(`${app.baseUrl}/beneficiaries/import`);
        await plain.page.setInputFiles('#f-file', await badRegistryFile());
        await Promise.all([plain.page.waitForNavigation({ waitUntil: 'load' }), plain.page.getByRole('button', { name: '导入' }).click()]);
        await expect.poll(() => plain.page.locator('.error-summary').innerText()).toContain('文件未导入');
        await expectDownload(plain.page, (await plain.page.getByRole('link', { name: '下载错误报告（Excel）' }).getAttribute('href'))!);
      } finally {
        await plain.context.close();
      }
    },
    TIMEOUT,
  );
});
