// 完整导出 (issue 17 item 7, Chongqing 十一): a request queues the export, the supervision-export task builds the
// zip in the background; the zip's CSV files match its manifest (rows, money totals, SM3) and the row's SM3; ID
// numbers masked unless the finance section asks for them in clear with a reason (audited); an identical request
// while one waits is not queued twice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sm3Hex } from '../../src/core/crypto.ts';
import { composeAuditLexicon } from '../../src/app.ts';
import { CLEAR_RETENTION_DAYS, runQueuedExports as runQueued } from '../../src/modules/supervision/exports.ts';
import { TEST_DB, type TestDb, auditRows, binaryParser, createSeededDb, csrfFrom, personalNumbers, loggedInAgents } from '../factories.ts';

const FILES = ['policies.csv', 'people.csv', 'rounds.csv', 'lines.csv', 'results.csv', 'cases.csv', 'audit_log.csv'];

describe(`supervision: complete export (${TEST_DB})`, () => {
  let t: TestDb;
  let dataDir: string;
  const year = new Date().getUTCFullYear();
  const period = { from: `${year}-01-01`, to: `${year}-12-31` };

  const { as, clear: forgetAgents } = loggedInAgents(() => t);

  async function post(username: string, fields: Record<string, string>) {
    const agent = await as(username);
    const page = await agent.get('/supervision/exports');
    return agent.post('/supervision/exports').type('form').send({ ...fields, _csrf: csrfFrom(page.text) });
  }

  async function download(username: string, id: number) {
    return (await as(username)).get(`/supervision/exports/${id}/download`).buffer(true).parse(binaryParser);
  }

  /** The supervision-export task's work, called directly. */
  const runQueuedExports = (core: TestDb['core']) => runQueued(core, composeAuditLexicon(core));

  const idOf = (location: string) => Number(/\/supervision\/exports\/(\d+)$/.exec(location)![1]);

  beforeAll(async () => {
    forgetAgents();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-export-'));
    t = await createSeededDb({ demo: true, dataDir }, { people: true });
  }, 300_000);
  afterAll(async () => {
    await t?.cleanup();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a masked export: queued by the request, built by the task, its files matching the manifest and the zip its SM3', async () => {
    const db = t.core.db;
    const res = await post('supervisor', period);
    expect(res.status).toBe(303);
    const id = idOf(res.headers.location!);
    expect((await db('supervision_export').where({ id }).first()).state).toBe('queued');
    const queuedPage = await (await as('supervisor')).get(`/supervision/exports/${id}`);
    expect(queuedPage.status).toBe(200);
    expect(queuedPage.text).toContain('排队中');
    expect(queuedPage.text).toContain('hx-trigger="every 5s"');
    expect((await auditRows(t.core, 'supervision.export.request')).map((r) => r.object_id)).toContain(String(id));

    expect(await runQueuedExports(t.core)).toEqual({ built: 1, failed: 0 });
    const row = await db('supervision_export').where({ id }).first();
    expect(row.state).toBe('done');
    expect(row.files_done).toBe(9);
    expect(fs.existsSync(path.join(dataDir, row.file_path))).toBe(true);

    const page = await (await as('supervisor')).get(`/supervision/exports/${id}`);
    const html = parse(page.text);
    expect(html.querySelector('#export-progress')!.getAttribute('data-hx-trigger')).toBeUndefined();
    expect(page.text).toContain(row.sm3);
    const link = html.querySelector(`a[href="/supervision/exports/${id}/download"]`)!;
    expect(link.getAttribute('download')).toMatch(/\.zip$/);

    const zipRes = await download('supervisor', id);
    expect(zipRes.status).toBe(200);
    expect(zipRes.headers['content-disposition']).toMatch(/^attachment; filename\*=UTF-8''/);
    const body = zipRes.body as Buffer;
    expect(sm3Hex(body)).toBe(row.sm3);
    expect(body.length).toBe(Number(row.size_bytes));
    const files = unzipSync(new Uint8Array(body));
    expect(Object.keys(files).sort()).toEqual([...FILES, 'manifest.csv', 'manifest.json'].sort());

    const manifest = JSON.parse(Buffer.from(files['manifest.json']!).toString('utf8'));
    expect(manifest.id_numbers).toBe('masked');
    expect(manifest.files.map((f: { file: string }) => f.file)).toEqual(FILES);
    for (const f of manifest.files as { file: string; rows: number; bytes: number; sm3: string; totals_fen: Record<string, number> }[]) {
      const bytes = Buffer.from(files[f.file]!);
      expect(sm3Hex(bytes), f.file).toBe(f.sm3);
      expect(bytes.length, f.file).toBe(f.bytes);
      const text = bytes.toString('utf8');
      expect(text.startsWith('\ufeff'), `${f.file} starts with a BOM`).toBe(true);
      expect(text.split('\r\n').filter(Boolean).length - 1, `${f.file} rows`).toBe(f.rows);
      // The audit log's hash chain (hex) may hold a run of digits that passes the card check: left out of the search.
      expect(personalNumbers(text.replace(/\b[0-9a-f]{64}\b/g, '')), `${f.file} holds no full ID or card number`).toEqual([]);
    }
    const byFile = new Map(manifest.files.map((f: { file: string }) => [f.file, f])) as Map<string, { rows: number; totals_fen: Record<string, number> }>;
    // The demo county's registry, and the lines of its rounds of the year with their money.
    expect(byFile.get('people.csv')!.rows).toBe(Number((await db('beneficiary_person').count({ n: '*' }))[0]!.n));
    const lines = (await db('batch_line as l').join('batch_round as r', 'r.id', 'l.round_id').whereBetween('r.period_end', [period.from, period.to]).count({ n: '*' }).sum({ fen: 'l.amount_fen' }))[0] as { n: number | string; fen: number | string };
    expect(Number(lines.n)).toBeGreaterThan(0);
    expect(byFile.get('lines.csv')!.rows).toBe(Number(lines.n));
    expect(byFile.get('lines.csv')!.totals_fen.amount_fen).toBe(Number(lines.fen));
    expect(byFile.get('audit_log.csv')!.rows).toBeGreaterThan(0);
    // The audit rows as the audit log's export reads them: this export's request, by its label, with its stored code.
    const auditCsv = Buffer.from(files['audit_log.csv']!).toString('utf8');
    expect(auditCsv.split('\r\n')[0]).toBe('\ufeffaudit_id,time,user,roles,region,action,object,summary,ip,at,action_code,object_type,object_id,summary_json,prev_hash,hash');
    expect(auditCsv).toMatch(new RegExp(`完整导出：申请（脱敏）,完整导出 #${id},期间 ${period.from} 至 ${period.to},.*,supervision\\.export\\.request,supervision_export,${id},`));
    // The manifest's CSV says the same.
    expect(Buffer.from(files['manifest.csv']!).toString('utf8')).toContain(`lines.csv,${lines.n},`);
    expect((await auditRows(t.core, 'supervision.export.download')).map((r) => r.object_id)).toContain(String(id));
  });

  it('an identical request while one waits is not queued twice', async () => {
    const db = t.core.db;
    const fields = { from: `${year}-03-01`, to: `${year}-06-30` };
    const first = await post('supervisor', fields);
    const second = await post('supervisor', fields);
    expect(first.status).toBe(303);
    expect(second.status).toBe(303);
    expect(second.headers.location).toBe(first.headers.location);
    expect(await db('supervision_export').where({ period_from: fields.from, period_to: fields.to })).toHaveLength(1);
    // Once built, the same request queues a new one.
    await runQueuedExports(t.core);
    const third = await post('supervisor', fields);
    expect(third.headers.location).not.toBe(first.headers.location);
    await runQueuedExports(t.core);
  });

  it('an export cut off while running (a restart) is marked failed at the next run, and its page says why', async () => {
    const db = t.core.db;
    const res = await post('supervisor', { from: `${year}-07-01`, to: `${year}-07-31` });
    const id = idOf(res.headers.location!);
    const old = new Date(Date.now() - 3_600_000).toISOString();
    await db('supervision_export').where({ id }).update({ state: 'running', started_at: old, heartbeat_at: old });
    // htmx polls the progress block alone while it runs.
    const polled = await (await as('supervisor')).get(`/supervision/exports/${id}`).set('HX-Request', 'true').set('HX-Target', 'export-progress');
    expect(polled.text.trim().startsWith('<div id="export-progress"')).toBe(true);
    expect(polled.text).toContain('生成中');
    expect(await runQueuedExports(t.core)).toEqual({ built: 0, failed: 0 });
    expect((await db('supervision_export').where({ id }).first()).state).toBe('failed');
    const page = await (await as('supervisor')).get(`/supervision/exports/${id}`);
    expect(page.text).toContain('生成中断');
    expect((await download('supervisor', id)).status).toBe(404);
  });

  it('a clear export is refused to the supervisors (403, audited) and nothing is queued', async () => {
    const db = t.core.db;
    const before = (await db('supervision_export')).length;
    const denied = (await auditRows(t.core, 'access.denied')).length;
    const res = await post('supervisor', { ...period, inClear: 'on', reason: '审计通知书 审通〔2026〕1号' });
    expect(res.status).toBe(403);
    expect((await db('supervision_export')).length).toBe(before);
    expect((await auditRows(t.core, 'access.denied')).length).toBe(denied + 1);
  });

  it('the form refuses a clear export without its reason, or a period ending before it starts (422, values kept)', async () => {
    const res = await post('finance', { ...period, inClear: 'on', reason: '' });
    expect(res.status).toBe(422);
    const html = parse(res.text);
    expect(html.querySelector('.error-summary a[href="#f-reason"]')).not.toBeNull();
    expect(html.querySelector('#f-from')!.getAttribute('value')).toBe(period.from);
    expect(html.querySelector('#f-inClear')!.hasAttribute('checked')).toBe(true);
    const backwards = await post('finance', { from: `${year}-06-01`, to: `${year}-01-01` });
    expect(backwards.status).toBe(422);
    expect(backwards.text).toContain('截止日期不能早于起始日期');
    const bad = await post('finance', { from: '2026-02-30', to: `${year}-01-01` });
    expect(bad.status).toBe(422);
    expect(parse(bad.text).querySelector('.error-summary a[href="#f-from"]')).not.toBeNull();
  });

  it('the finance section\'s clear export: audited with its reason, full ID numbers in people.csv, downloaded by its requester only', async () => {
    const reason = '审计局审计通知书 审通〔2026〕7号';
    const res = await post('finance', { ...period, inClear: 'on', reason });
    expect(res.status).toBe(303);
    const id = idOf(res.headers.location!);
    const audit = (await auditRows(t.core, 'supervision.export.request_clear')).find((r) => r.object_id === String(id))!;
    expect(JSON.parse(audit.summary).reason).toBe(reason);
    await runQueuedExports(t.core);

    const zipRes = await download('finance', id);
    expect(zipRes.status).toBe(200);
    const files = unzipSync(new Uint8Array(zipRes.body as Buffer));
    const people = Buffer.from(files['people.csv']!).toString('utf8');
    // Every person's row holds their full ID number (an 18-digit number may also pass the card check: counted by row).
    const rows = people.split('\r\n').filter(Boolean).slice(1);
    expect(rows.length).toBe(JSON.parse(Buffer.from(files['manifest.json']!).toString('utf8')).files[1].rows);
    expect(rows.filter((line) => personalNumbers(line).length === 0)).toEqual([]);
    // The lines and cases keep the staff mask; only the registry's file is in clear.
    expect(personalNumbers(Buffer.from(files['lines.csv']!).toString('utf8'))).toEqual([]);

    // A supervisor sees the export's page but may not download it; the auditor (三权分立) sees neither.
    expect((await (await as('supervisor')).get(`/supervision/exports/${id}`)).status).toBe(200);
    expect((await download('supervisor', id)).status).toBe(403);
    expect((await (await as('auditor')).get('/supervision/exports')).status).toBe(403);
    expect((await (await as('auditor')).get(`/supervision/exports/${id}`)).status).toBe(403);

    // Past its retention the clear zip is deleted by the export task; the row stays, marked expired, and says so.
    const { file_path: file } = await t.core.db('supervision_export').where({ id }).first('file_path');
    expect(fs.existsSync(path.join(t.core.config.dataDir, file))).toBe(true);
    await t.core.db('supervision_export').where({ id }).update({ finished_at: new Date(Date.now() - (CLEAR_RETENTION_DAYS + 1) * 86_400_000).toISOString() });
    await runQueuedExports(t.core);
    expect(await t.core.db('supervision_export').where({ id }).first('state', 'file_path')).toEqual({ state: 'expired', file_path: null });
    expect(fs.existsSync(path.join(t.core.config.dataDir, file))).toBe(false);
    expect((await auditRows(t.core, 'supervision.export.expire')).map((r) => r.object_id)).toContain(String(id));
    expect((await download('finance', id)).status).toBe(404);
    expect((await (await as('finance')).get(`/supervision/exports/${id}`)).text).toContain('已过保存期，文件已删除');
  });
});
