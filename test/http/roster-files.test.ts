import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { formatYuan, parseYuan } from '../../src/core/money.ts';
import { readTable } from '../../src/core/spreadsheet.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, binaryParser, createSeededDb, login } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const pdftotextAvailable = () => spawnSync('pdftotext', ['-v']).status === 0;

/** The PDF's pages by its structure: the page objects, and the page tree's /Count (pdfkit writes neither compressed). */
function pdfPages(pdf: Buffer): { objects: number; count: number } {
  const text = pdf.toString('latin1');
  return { objects: (text.match(/\/Type \/Page(?![a-zA-Z])/g) ?? []).length, count: Number(/\/Type \/Pages\s*\/Count (\d+)/.exec(text)?.[1]) };
}

const ROSTER_SPEC = { headerHas: ['序号', '身份证号码'], required: ['序号', '村（社区）', '姓名', '身份证号码', '档次', '金额（元）'], rowNoun: '发放明细', formatHint: '' };

describe(`a roster printed and downloaded whole (${TEST_DB})`, () => {
  it('gives the station every line of its two-page roster as PDF and Excel, with totals, masked IDs only, audited; out of scope is refused', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const db = t.core.db;
    // The demo's largest roster of 城关镇 (more lines than one screen page).
    const roster = (await db('batch_roster as s')
      .join('core_region as tw', 'tw.id', 's.township_id')
      .join('batch_line as l', 'l.roster_id', 's.id')
      .where({ 'tw.name': '城关镇', 'l.state': 'active' })
      .groupBy('s.id')
      .select('s.id')
      .count({ n: '*' })
      .orderBy('n', 'desc')
      .first()) as { id: number };
    const rosterId = Number(roster.id);
    const lines: { person_name: string; id_masked: string; amount_fen: number; person_id: number; account_id: number | null }[] = await db('batch_line')
      .where({ roster_id: rosterId, state: 'active' })
      .select('person_name', 'id_masked', 'amount_fen', 'person_id', 'account_id');
    expect(lines.length).toBeGreaterThan(50);
    const totalFen = lines.reduce((sum, l) => sum + Number(l.amount_fen), 0);

    const station = agentFor(t.core);
    await login(station, 'station1');
    const page = await station.get(`/rosters/${rosterId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<a href="/rosters/${rosterId}/roster.pdf" download data-hx-boost="false">打印/下载清册（PDF）</a>`);
    expect(page.text).toContain(`<a href="/rosters/${rosterId}/roster.xlsx" download data-hx-boost="false">下载清册（Excel）</a>`);
    // Paper has no pager: the printed screen page says it holds 50 of the roster's lines.
    const pages = Math.ceil(lines.length / 50);
    expect(page.text).toContain(`<p class="print-only print-notice">打印说明：下表只列出第 1/${pages} 页的 50 条发放明细，清册共 ${lines.length} 条；完整清册请使用“打印/下载清册（PDF）”。</p>`);

    const pdfResponse = await station.get(`/rosters/${rosterId}/roster.pdf`).buffer(true).parse(binaryParser);
    expect(pdfResponse.status).toBe(200);
    expect(pdfResponse.headers['content-type']).toBe('application/pdf');
    expect(pdfResponse.headers['content-disposition']).toMatch(/^attachment; filename\*=UTF-8''.+\.pdf$/);
    expect(decodeURIComponent(pdfResponse.headers['content-disposition'].split("''")[1])).toMatch(/发放清册-城关镇\.pdf$/);
    const pdf = pdfResponse.body as Buffer;
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const structure = pdfPages(pdf);
    expect(structure.objects).toBe(structure.count);

    const xlsxResponse = await station.get(`/rosters/${rosterId}/roster.xlsx`).buffer(true).parse(binaryParser);
    expect(xlsxResponse.status).toBe(200);
    expect(xlsxResponse.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(decodeURIComponent(xlsxResponse.headers['content-disposition'].split("''")[1])).toMatch(/发放清册-城关镇\.xlsx$/);
    const xlsx = xlsxResponse.body as Buffer;

    // The workbook, read with the platform's own reader: every active line once, and totals that add up in fen.
    const table = await readTable(xlsx, ROSTER_SPEC);
    if (typeof table === 'string') throw new Error(table);
    const cell = (row: { cells: string[] }, header: string) => row.cells[table.columns.get(header)!]!;
    const fenOf = (text: string) => {
      const parsed = parseYuan(text);
      if (!parsed.ok) throw new Error(text);
      return Number(parsed.fen);
    };
    const dataRows = table.rows.filter((r) => /^\d+$/.test(cell(r, '序号')));
    expect(dataRows.map((r) => cell(r, '序号'))).toEqual(lines.map((_, i) => String(i + 1)));
    const key = (name: string, id: string, amountFen: number) => `${name}|${id}|${amountFen}`;
    expect(dataRows.map((r) => key(cell(r, '姓名'), cell(r, '身份证号码'), fenOf(cell(r, '金额（元）')))).sort()).toEqual(lines.map((l) => key(l.person_name, l.id_masked, Number(l.amount_fen))).sort());
    const subtotals = table.rows.filter((r) => cell(r, '村（社区）').endsWith(' 小计'));
    expect(subtotals.reduce((sum, r) => sum + fenOf(cell(r, '金额（元）')), 0)).toBe(totalFen);
    const total = table.rows.find((r) => cell(r, '村（社区）') === '合计')!;
    expect(cell(total, '姓名')).toBe(`${lines.length} 人`);
    expect(fenOf(cell(total, '金额（元）'))).toBe(totalFen);
    // Every cell a value: the sheet has no formula anywhere, and the ID column is text.
    const parts = unzipSync(new Uint8Array(xlsx));
    const xml = Object.entries(parts)
      .filter(([name]) => name.endsWith('.xml'))
      .map(([, data]) => strFromU8(data))
      .join('\n');
    expect(xml).not.toMatch(/<f[ >]/);
    expect(xml).toContain('经办人：');

    // Masked ID numbers only: no line's ID number or account number in clear in either file.
    const clearIds = (await db('beneficiary_person').whereIn('id', lines.map((l) => l.person_id)).select('id_enc')).map((p: { id_enc: string }) => t!.core.crypto.decrypt(p.id_enc));
    const accountIds = lines.map((l) => l.account_id).filter((id): id is number => id !== null);
    const clearAccounts = (await db('beneficiary_account').whereIn('id', accountIds).select('account_enc')).map((a: { account_enc: string }) => t!.core.crypto.decrypt(a.account_enc));
    expect(clearIds.length).toBe(lines.length);
    expect(clearAccounts.length).toBeGreaterThan(0);
    for (const secret of [...clearIds, ...clearAccounts]) expect(xml.includes(secret)).toBe(false);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'ykt-roster-'));
    try {
      writeFileSync(path.join(dir, 'roster.pdf'), pdf);
      if (pdftotextAvailable()) {
        // The text as printed: each page numbered out of the real page count and titled, the table's header on
        // every page it runs on, the facts on the first page, the total and the signature spaces on the last,
        // masked IDs and nothing in clear.
        const texts = spawnSync('pdftotext', [path.join(dir, 'roster.pdf'), '-'], { encoding: 'utf8' }).stdout.split('\f').slice(0, -1);
        expect(texts.length).toBe(structure.count);
        const compact = texts.map((p) => p.replace(/\s/g, ''));
        compact.forEach((p, i) => {
          expect(p).toContain(`第${i + 1}页/共${texts.length}页`);
          expect(p).toContain('发放清册（城关镇）');
        });
        const tablePages = compact.filter((p) => p.includes('序号'));
        expect(tablePages.length).toBeGreaterThanOrEqual(compact.length - 1);
        for (const p of tablePages) for (const header of ['序号', '村（社区）', '姓名', '身份证号码', '档次', '标准（元）', '金额（元）']) expect(p).toContain(header);
        expect(compact[0]).toContain('发放清册（城关镇）');
        expect(compact[0]).toMatch(/打印日期：\d{4}-\d{2}-\d{2}/);
        const all = compact.join('');
        for (const l of lines) expect(all).toContain(l.id_masked);
        for (const secret of [...clearIds, ...clearAccounts]) expect(all.includes(secret)).toBe(false);
        expect(tablePages.at(-1)).toContain(`合计${lines.length}人`);
        expect(tablePages.at(-1)).toContain(formatYuan(totalFen));
        expect(compact.at(-1)).toContain(`本清册共${lines.length}人，金额合计${formatYuan(totalFen)}元。`);
        for (const label of ['经办人：', '复核人（财政所）：', '审核人（主管部门）：', '日期：']) expect(compact.at(-1)).toContain(label);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const audited = await auditRows(t.core, 'batch.roster.print');
    expect(audited.map((r: { object_id: string; summary: string }) => [r.object_id, JSON.parse(r.summary)])).toEqual([
      [String(rosterId), { format: 'pdf', lines: lines.length, totalFen }],
      [String(rosterId), { format: 'xlsx', lines: lines.length, totalFen }],
    ]);

    // Another township's roster is out of the station's scope; a role that reads no rosters is refused too.
    const other = await db('batch_roster as s').join('core_region as tw', 'tw.id', 's.township_id').whereNot('tw.name', '城关镇').first('s.id');
    for (const format of ['pdf', 'xlsx']) expect((await station.get(`/rosters/${other.id}/roster.${format}`)).status).toBe(403);
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get(`/rosters/${rosterId}/roster.pdf`)).status).toBe(403);
    expect(await auditRows(t.core, 'batch.roster.print')).toHaveLength(2);
  });
});
