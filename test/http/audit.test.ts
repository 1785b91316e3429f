import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeAuditLexicon } from '../../src/app.ts';
import { TEST_DB, type TestDb, agentFor, createSeededDb, login } from '../factories.ts';

/** The audit log as the auditor reads it, over the demo county's history (every module has written to it). */
let t: TestDb;
let auditor: ReturnType<typeof agentFor>;
beforeAll(async () => {
  t = await createSeededDb({ demo: true }, { people: true });
  auditor = agentFor(t.core);
  await login(auditor, 'auditor');
});
afterAll(() => t.cleanup());

interface ShownRow {
  action: string;
  object: string;
  objectHref: string | null;
  summary: string;
}

function rowsOf(html: string): ShownRow[] {
  const body = /<table class="data audit">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
    .map((m) => [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!))
    .filter((cells) => cells.length === 8)
    .map((cells) => ({
      action: cells[4]!,
      object: cells[5]!.replace(/<[^>]+>/g, ''),
      objectHref: /href="([^"]+)"/.exec(cells[5]!)?.[1]?.replace(/&amp;/g, '&') ?? null,
      summary: cells[6]!,
    }));
}

const optionValues = (html: string) => [...html.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]!).filter(Boolean);

describe(`the audit log page (${TEST_DB})`, () => {
  it('shows every row with a Chinese label, objects by name, summaries as sentences: no JSON, no codes, no ID or account numbers', async () => {
    const first = await auditor.get('/audit');
    expect(first.status).toBe(200);
    const pages = Number(/第 1 \/ (\d+) 页/.exec(first.text)?.[1] ?? 1);
    const seen = new Set<string>();
    for (let page = 1; page <= pages; page++) {
      const res = page === 1 ? first : await auditor.get(`/audit?page=${page}`);
      expect(res.status).toBe(200);
      const rows = rowsOf(res.text);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        seen.add(row.action);
        expect(row.action, row.action).toMatch(/^\p{Script=Han}/u);
        expect(row.action).not.toContain('未登记的操作');
        expect(`${row.object} ${row.summary}`).not.toMatch(/[a-z]+[._][a-z_]+/);
        expect(row.summary).not.toContain('{');
        // Neither an ID number (whole or masked) nor an account number (whole or its masked tail).
        expect(`${row.object} ${row.summary}`).not.toMatch(/\d{6}\*|\*{2,}\d{2,}|\d{15,}/);
      }
      expect(res.text).not.toContain('{&quot;');
    }
    // The demo's history reaches every module.
    for (const label of ['写入演示数据', '登录成功', '批次：建立', '清册：审核通过，交乡镇公示', '开始限时计时', '导入银行回盘', '发放失败：核实修正']) expect(seen).toContain(label);
  });

  it('offers the actions as a list grouped by module, and every choice it offers is accepted', async () => {
    const res = await auditor.get('/audit');
    expect(res.text).toContain('<select id="f-action" name="action"');
    expect(res.text).toContain('<optgroup label="发放批次">');
    expect(res.text).toContain('<option value="batch.roster.approve">清册：审核通过，交乡镇公示</option>');
    const values = optionValues(/<select id="f-action"[\s\S]*?<\/select>/.exec(res.text)![0]);
    expect(values).toEqual(expect.arrayContaining(['login.success', 'core.*', 'bank.*', 'batch.roster.approve']));
    for (const value of values) expect((await auditor.get(`/audit?action=${encodeURIComponent(value)}`)).status, value).toBe(200);
  });

  it('filters by one action and by a module', async () => {
    const approvals = await auditor.get('/audit?action=batch.roster.approve');
    expect(approvals.text).toContain('<option value="batch.roster.approve" selected>');
    const rows = rowsOf(approvals.text);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.action))).toEqual(new Set(['清册：审核通过，交乡镇公示']));
    expect(rows[0]!.summary).toMatch(/的清册由“待主管部门审核”转为“审核通过，待公示”/);

    const bank = rowsOf((await auditor.get('/audit?action=bank.*')).text);
    expect(bank.length).toBeGreaterThan(0);
    expect(bank.every((r) => /^(下载代发文件|导入银行回盘|发放失败：|再次拨付|登记|复核通过|编入补发|建立季度对账|上传|对账|处理对账|年末清算|发送开卡|下载开卡)/.test(r.action)), bank.map((r) => r.action).join(' ')).toBe(true);
  });

  it('links an object to its whole history in the log, named', async () => {
    const approval = rowsOf((await auditor.get('/audit?action=batch.roster.approve')).text)[0]!;
    expect(approval.object).toMatch(/^清册 “.+”.+镇$/);
    expect(approval.objectHref).toMatch(/^\/audit\/objects\/roster\/\d+$/);
    const history = await auditor.get(approval.objectHref!);
    expect(history.status).toBe(200);
    expect(history.text).toContain(`<h1>${approval.object}的审计记录</h1>`);
    const rows = rowsOf(history.text);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.every((r) => r.object === approval.object)).toBe(true);
  });

  it("looks up the names of every kind of object on this database, one query a kind", async () => {
    const lexicon = composeAuditLexicon(t.core);
    const rows = lexicon.kindTypes().flatMap((type) => ['1', '2'].map((id) => ({ object_type: type, object_id: id })));
    const names = await lexicon.names(t.core.db, rows);
    expect(names.get('user:1')).toMatch(/^用户 .+（.+）$/);
    expect(names.get('round:1')).toMatch(/^发放批次 “.+”$/);
    expect(names.get('policy:1')).toMatch(/^补贴项目 .+“.+”$/);
  });

  it('refuses a choice the list does not offer with 422 on the same page, its select still there', async () => {
    const res = await auditor.get('/audit?action=login');
    expect(res.status).toBe(422);
    expect(res.text).toContain('<a href="#f-action">请从列表中选择操作类型</a>');
    expect(res.text).toContain('<select id="f-action" name="action" aria-invalid="true"');
  });
});
