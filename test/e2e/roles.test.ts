import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../seeds/demo.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { TEST_PASSWORD, type TestDb } from '../factories.ts';
import { type BrowserApp, CHROMIUM, SCREENSHOT_DIR, TIMEOUT, hasChromium, onPg, pathOf, requireE2e, skipE2e, startBrowserApp } from './harness.ts';

/**
 * Every demo role through a real browser (Debian's Chromium driven by playwright-core): log in, see the
 * workbench and the role's own navigation, screenshot the page, log out. Part of the SQLite pass only.
 * Without /usr/bin/chromium the file is skipped, unless YKT_REQUIRE_E2E=1 makes that a failure.
 */
if (onPg) console.warn('浏览器测试只在 SQLite 轮次运行：跳过');
else if (!hasChromium && !requireE2e) console.warn(`未安装 chromium（${CHROMIUM}）：跳过浏览器测试`);

// Registered only when it can fail, so that a normal run does not count a skipped test for it.
if (!onPg && !hasChromium && requireE2e) {
  describe('浏览器测试的前提', () => {
    it('YKT_REQUIRE_E2E=1 时必须安装 chromium', () => {
      expect(fs.existsSync(CHROMIUM), `YKT_REQUIRE_E2E=1，但未找到 ${CHROMIUM}`).toBe(true);
    });
  });
}

describe.skipIf(skipE2e)('各角色通过浏览器登录与退出', () => {
  let app: BrowserApp;
  let db: TestDb;
  let baseUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    app = await startBrowserApp();
    ({ db, baseUrl, browser } = app);
  }, TIMEOUT);

  afterAll(async () => {
    await app?.stop();
  }, TIMEOUT);

  const signIn = (username: string) => app.signIn(username);
  const openLogin = (page: Page) => app.openLogin(page);

  for (const user of DEMO_USERS) {
    it(
      `${user.username}（${user.label}）登录后看到工作台与本角色的导航，然后退出`,
      async () => {
        const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
        try {
          const page = await context.newPage();
          await openLogin(page);

          await page.fill('#f-username', user.username);
          await page.fill('#f-password', TEST_PASSWORD);
          await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: '登录' }).click()]);

          expect(pathOf(page)).toBe('/');
          expect((await page.locator('h1').first().textContent())?.trim()).toBe('工作台');
          await expect.poll(() => page.locator('header .who').innerText()).toContain(user.displayName);

          const nav = page.locator('nav.nav');
          const navText = await nav.innerText();
          expect(navText).toContain('工作台');
          if (user.role === 'admin') {
            expect(navText).toContain('用户管理');
            expect(navText).not.toContain('审计日志');
          } else if (user.role === 'auditor') {
            expect(navText).toContain('审计日志');
            expect(navText).not.toContain('用户管理');
          } else {
            expect(navText).not.toContain('用户管理');
            expect(navText).not.toContain('审计日志');
          }

          await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${user.username}.png`), fullPage: true });

          // The logout form is htmx-boosted: wait for the URL, not for a full navigation.
          await page.locator('header .who').getByRole('button', { name: '退出' }).click();
          await page.waitForURL((url) => url.pathname === '/login', { timeout: 15_000 });
          await expect.poll(() => page.locator('h1').first().textContent()).toBe('登录');
          await expect.poll(() => page.locator('header .who').count()).toBe(0);

          // The session is really gone: the workbench sends us back to the login page.
          await page.goto(`${baseUrl}/`);
          expect(pathOf(page)).toBe('/login');
        } finally {
          await context.close();
        }
      },
      TIMEOUT,
    );
  }

  it(
    '密码错误时页面上显示“用户名或密码错误”',
    async () => {
      const context = await browser.newContext({ locale: 'zh-CN' });
      try {
        const page = await context.newPage();
        await openLogin(page);
        await page.fill('#f-username', 'station1');
        await page.fill('#f-password', 'Wrong#Pass2026');
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: '登录' }).click()]);

        expect(pathOf(page)).toBe('/login');
        await expect.poll(() => page.locator('main').innerText()).toContain('用户名或密码错误');
        expect(await page.locator('header .who').count()).toBe(0);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'wrong-password.png'), fullPage: true });
      } finally {
        await context.close();
      }
    },
    TIMEOUT,
  );

  it(
    '乡镇经办站所通过浏览器导入花名册：有错的文件整份退回并可下载错误报告，改正后导入成功',
    async () => {
      const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
      try {
        const page = await context.newPage();
        await openLogin(page);
        await page.fill('#f-username', 'station1');
        await page.fill('#f-password', TEST_PASSWORD);
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: '登录' }).click()]);
        await page.goto(`${baseUrl}/beneficiaries/import`);

        const rows = registryFileRows(fakeHouseholds({ households: 4, villages: ['东关社区', '西街村'], seed: 11 }));
        const bad = rows.map((r, i) => (i === 0 ? [r[0]!, r[1]!, `${r[2]!.slice(0, 17)}0`, ...r.slice(3)] : r));
        const upload = async (cells: string[][]) => {
          await page.setInputFiles('#f-file', { name: '东关社区花名册.xlsx', mimeType: 'application/octet-stream', buffer: await writeTableXlsx('花名册', REGISTRY_FILE_HEADER, cells) });
          // The upload form is htmx-boosted like every form: the answer replaces the page, no full navigation.
          await page.getByRole('button', { name: '导入' }).click();
        };

        await upload(bad);
        await expect.poll(() => page.locator('.error-summary').innerText()).toContain('文件未导入');
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'registry-import-refused.png'), fullPage: true });
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: '下载错误报告（Excel）' }).click()]);
        expect(download.suggestedFilename()).toBe('受益对象导入错误报告-东关社区花名册.xlsx');

        await upload(rows);
        await expect.poll(() => page.locator('.flash').innerText()).toContain(`新登记 ${rows.length} 人`);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'registry-import-done.png'), fullPage: true });
      } finally {
        await context.close();
      }
    },
    TIMEOUT,
  );

  it(
    '经办站所在清册页面录入一行并送复核，财政所复核通过：每一步都在页面上完成',
    async () => {
      const item = await db.core.db('policy_item').where({ code: 'JC-06' }).first('id');
      const county = await db.core.db('core_region').where({ level: 'county' }).first('id');
      const dept = await db.core.db('core_user').where({ username: 'dept_agri' }).first('id');
      const head = await db.core.db('beneficiary_person as p').join('beneficiary_account as a', 'a.active_person_id', 'p.id').join('core_region as v', 'v.id', 'p.village_id').join('core_region as t', 't.id', 'v.parent_id').where({ 't.name': '城关镇', 'p.relation': 'head', 'p.status': 'active' })
        .whereRaw('a.holder_name = p.name')
        .whereNotExists((q) => q.select(db.core.db.raw('1')).from('beneficiary_account as b').whereRaw('b.account_index = a.account_index').whereRaw('b.id <> a.id'))
        .whereNotExists((q) => q.select(db.core.db.raw('1')).from('beneficiary_reference_hit as h').whereRaw('h.person_id = p.id'))
        .first('p.id_enc', 'p.name');
      expect(county && dept && head).toBeTruthy();
      const agri = await signIn('dept_agri');
      try {
        await agri.page.goto(`${baseUrl}/rounds`);
        await agri.page.selectOption('#f-policyItemId', String(item.id));
        await agri.page.fill('#f-period', '2026');
        await agri.page.getByRole('button', { name: '建立', exact: true }).click();
        await expect.poll(() => agri.page.locator('h1').innerText(), { timeout: 15_000 }).toContain('森林生态效益补偿');
      } finally {
        await agri.context.close();
      }
      const roster = await db.core.db('batch_roster as s').join('batch_round as r', 'r.id', 's.round_id').join('core_region as t', 't.id', 's.township_id').where({ 'r.policy_item_id': item.id, 't.name': '城关镇' }).first('s.id');

      const station = await signIn('station1');
      try {
        await station.page.goto(`${baseUrl}/rosters/${roster.id}`);
        await station.page.fill('#f-idNumber', db.core.crypto.decrypt(head.id_enc));
        await station.page.fill('#f-quantity', '8.5');
        await station.page.getByRole('button', { name: '加入清册', exact: true }).click();
        await expect.poll(() => station.page.locator('main').innerText(), { timeout: 15_000 }).toContain('133.88');
        await station.page.getByRole('button', { name: '送财政所复核比对', exact: true }).click();
        await expect.poll(() => station.page.locator('main').innerText(), { timeout: 15_000 }).toContain('清册现为“待财政所复核比对”');
        await station.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'roster-station.png'), fullPage: true });
      } finally {
        await station.context.close();
      }

      const office = await signIn('finance1');
      try {
        await office.page.goto(`${baseUrl}/rosters/${roster.id}`);
        await office.page.getByRole('button', { name: '复核比对通过', exact: true }).click();
        await expect.poll(() => office.page.locator('main').innerText(), { timeout: 15_000 }).toContain('清册现为“复核比对完成，待上报”');
        await office.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'roster-finance-office.png'), fullPage: true });
      } finally {
        await office.context.close();
      }
    },
    TIMEOUT,
  );

  it(
    '发放失败：经办站所从工作台进入并核实修正，主管部门核实，财政复核后生成补充代发文件，银行可下载',
    async () => {
      const failure = await db.core.db('bank_failure').where({ state: 'correcting' }).first('id', 'round_id');
      const station = await signIn('station1');
      try {
        await station.page.getByRole('link', { name: '发放失败、待核实修正的明细' }).click();
        await station.page.locator(`a[href="/bank/failures/${failure.id}"]`).first().click();
        await station.page.fill('#f-note', '账户已解冻，本人已确认');
        await station.page.getByRole('button', { name: '提交主管部门核实' }).click();
        await expect.poll(() => station.page.locator('main').innerText(), { timeout: 15_000 }).toContain('待主管部门核实');
      } finally {
        await station.context.close();
      }
      const civil = await signIn('dept_civil');
      try {
        await civil.page.goto(`${baseUrl}/bank/failures/${failure.id}`);
        await civil.page.getByRole('button', { name: '核实无误，报财政再次复核' }).click();
        await expect.poll(() => civil.page.locator('main').innerText(), { timeout: 15_000 }).toContain('待财政再次复核');
      } finally {
        await civil.context.close();
      }
      const finance = await signIn('finance');
      try {
        await finance.page.goto(`${baseUrl}/bank/rounds/${failure.round_id}`);
        await finance.page.getByRole('button', { name: '复核通过，生成补充代发文件' }).click();
        await expect.poll(() => finance.page.locator('main').innerText(), { timeout: 15_000 }).toContain('补充 2');
        await finance.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'failures-round-finance.png'), fullPage: true });
      } finally {
        await finance.context.close();
      }
      const bank = await signIn('bank');
      try {
        await bank.page.goto(`${baseUrl}/bank/rounds/${failure.round_id}`);
        const [download] = await Promise.all([bank.page.waitForEvent('download'), bank.page.locator(`a[href="/bank/payouts/${failure.round_id}/csv?supplement=2"]`).click()]);
        expect(download.suggestedFilename()).toContain('补充2');
      } finally {
        await bank.context.close();
      }
    },
    TIMEOUT,
  );
});
