import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../src/modules/beneficiary/account-number.ts';
import { TEST_DB, type TestDb, agentFor, auditRows, binaryParser, createSeededDb, login, personalNumbers } from '../factories.ts';

/** The text of a PDF, page by page (poppler's pdftotext, which CI installs). */
function pdfPages(pdf: Buffer): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ykt-sheet-'));
  try {
    writeFileSync(path.join(dir, 'sheet.pdf'), pdf);
    return spawnSync('pdftotext', [path.join(dir, 'sheet.pdf'), '-'], { encoding: 'utf8' }).stdout.split('\f').slice(0, -1).map((p) => p.replace(/\s/g, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const codeOf = (text: string) => /验证码：?([0-9A-Z]{5}-[0-9A-Z]{5})/.exec(text)?.[1]?.replace('-', '');

describe(`publicity sheets (公示表) and their check on the portal (${TEST_DB})`, () => {
  let t: TestDb;
  let rosterId: number;
  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    rosterId = ((await t.core.db('batch_roster').where({ state: 'publicity' }).first('id')) as { id: number }).id;
  });
  afterAll(async () => t?.cleanup());

  it('prints every village of a roster in publicity as one PDF, each sheet numbered on its own, with what Qinghai 二(四)11 lists, masked, and a code that is kept', async () => {
    const station = agentFor(t.core);
    await login(station, 'station1');
    const rosterPage = parse((await station.get(`/rosters/${rosterId}`)).text);
    expect(rosterPage.querySelector(`a[href="/publicity/rosters/${rosterId}"]`), 'the roster page offers its sheets').not.toBeNull();
    const page = parse((await station.get(`/publicity/rosters/${rosterId}`)).text);
    const all = page.querySelector(`a[href="/publicity/rosters/${rosterId}/sheets.pdf"]`)!;
    expect(all.getAttribute('download')).not.toBeUndefined();
    expect(all.getAttribute('data-hx-boost')).toBe('false');
    const villages = page.querySelectorAll('a[href*="sheets.pdf?village="]').length;
    expect(villages).toBeGreaterThan(1);

    const res = await station.get(`/publicity/rosters/${rosterId}/sheets.pdf`).buffer(true).parse(binaryParser);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toMatch(/^attachment;/);
    const pages = pdfPages(res.body as Buffer);
    const text = pages.join('');
    // One sheet per village, each with its own code and its own page numbering.
    const firstPages = pages.filter((p) => /第1页\/共\d+页/.test(p));
    expect(firstPages).toHaveLength(villages);
    const codes = new Set(firstPages.map(codeOf));
    expect(codes.size).toBe(villages);
    for (const p of firstPages) {
      for (const words of ['补贴项目：', '政策依据：', '补贴标准', '公示期：', '（不少于7天）', '监督电话：县（区）0990-12345', '乡镇（街道）0990-821001', '序号', '姓名', '身份证号码', '补贴数量', '补贴金额（元）']) expect(p).toContain(words);
    }
    expect(text).toContain('村（居）委会（盖章）');
    expect(text).toContain('内容摘要（SM3）');
    // Without YKT_PUBLIC_URL, the portal's address is this server's, as the browser asked it.
    expect(text).toMatch(/在http:\/\/127\.0\.0\.1:\d+\/public\/verify输入验证码/);
    expect(text).toMatch(/\d{6}\*{8}\d{3}[\dX]/);
    expect(personalNumbers(text)).toEqual([]);

    // Printed again, the same content keeps its codes; the print is audited.
    const again = pdfPages((await station.get(`/publicity/rosters/${rosterId}/sheets.pdf`).buffer(true).parse(binaryParser)).body as Buffer);
    expect(new Set(again.filter((p) => /第1页\/共\d+页/.test(p)).map(codeOf))).toEqual(codes);
    expect(await t.core.db('publicity_sheet').where({ roster_id: rosterId, kind: 'village' }).count({ n: '*' }).first()).toEqual({ n: villages });
    expect((await auditRows(t.core, 'publicity.sheet.print')).length).toBe(2);

    const summary = pdfPages((await station.get(`/publicity/rosters/${rosterId}/summary.pdf`).buffer(true).parse(binaryParser)).body as Buffer).join('');
    expect(summary).toContain('乡镇经办站所（盖章）');
    expect(summary).toContain('各村（社区）汇总');
    expect(codeOf(summary)).toBeDefined();
  });

  it('shows a printed sheet on the portal by its code, and says "已被更新" once what it printed has changed', async () => {
    const station = agentFor(t.core);
    await login(station, 'station1');
    const village = parse((await station.get(`/publicity/rosters/${rosterId}`)).text).querySelector('a[href*="sheets.pdf?village="]')!.getAttribute('href')!;
    const code = codeOf(pdfPages((await station.get(village).buffer(true).parse(binaryParser)).body as Buffer).join(''))!;

    const citizen = agentFor(t.core);
    const typed = await citizen.get(`/public/verify?code=${code.slice(0, 5).toLowerCase()}-${code.slice(5)}`);
    expect(typed.status).toBe(303);
    expect(typed.headers.location).toBe(`/public/verify/${code}`);
    const shown = await citizen.get(`/public/verify/${code}`);
    expect(shown.status).toBe(200);
    expect(shown.text).toContain('有效：与系统中现在的公示内容一致');
    expect(personalNumbers(shown.text)).toEqual([]);

    // The county shows full names from now on: the paper printed before no longer matches.
    const admin = agentFor(t.core);
    await login(admin, 'admin');
    const form = parse((await admin.get('/publicity/settings')).text);
    const fields = Object.fromEntries(form.querySelectorAll('form[action="/publicity/settings"] input, form[action="/publicity/settings"] select').map((i) => [i.getAttribute('name')!, i.tagName === 'SELECT' ? i.querySelector('option[selected]')?.getAttribute('value') ?? '' : i.getAttribute('value') ?? '']));
    const saved = await admin.post('/publicity/settings').type('form').send({ ...fields, nameMask: 'full' });
    expect(saved.status).toBe(303);
    expect((await citizen.get(`/public/verify/${code}`)).text).toContain('已被更新');
    const reprinted = codeOf(pdfPages((await station.get(village).buffer(true).parse(binaryParser)).body as Buffer).join(''));
    expect(reprinted).not.toBe(code);
    expect((await citizen.get(`/public/verify/${reprinted}`)).text).toContain('有效');

    // A code nobody printed, and one that cannot be a code.
    expect((await citizen.get('/public/verify/ZZZZZZZZZZ')).status).toBe(404);
    const bad = await citizen.get('/public/verify?code=abc');
    expect(bad.status).toBe(422);
    expect(parse(bad.text).querySelector('.error-summary a[href="#f-code"]')).not.toBeNull();
  });

  it('keeps the settings form whole: a bad telephone is refused with 422 naming the field, and nothing is saved', async () => {
    const admin = agentFor(t.core);
    await login(admin, 'admin');
    const html = parse((await admin.get('/publicity/settings')).text);
    const fields = Object.fromEntries(html.querySelectorAll('form[action="/publicity/settings"] input, form[action="/publicity/settings"] select').map((i) => [i.getAttribute('name')!, i.tagName === 'SELECT' ? i.querySelector('option[selected]')?.getAttribute('value') ?? '' : i.getAttribute('value') ?? '']));
    const township = Object.keys(fields).find((k) => k.startsWith('phone_'))!;
    const before = await t.core.db('core_setting').orderBy(['region_id', 'key']).select('region_id', 'key', 'value');
    const refused = await admin.post('/publicity/settings').type('form').send({ ...fields, countyPhone: '0990-12345', [township]: '打电话', nameMask: 'full' });
    expect(refused.status).toBe(422);
    const page = parse(refused.text);
    expect(page.querySelector(`.error-summary a[href="#f-${township}"]`)).not.toBeNull();
    expect(page.querySelector(`#f-${township}`)!.getAttribute('value')).toBe('打电话');
    expect(await t.core.db('core_setting').orderBy(['region_id', 'key']).select('region_id', 'key', 'value')).toEqual(before);
  });

  it('shows no full ID number and no card number on any public page or any sheet of the demo', async () => {
    // The scanner itself finds what it must: a valid ID number and a Luhn-valid card number.
    const someone = ((await t.core.db('beneficiary_person').first('id_enc')) as { id_enc: string }).id_enc;
    expect(personalNumbers(`身份证 ${t.core.crypto.decrypt(someone)}`)).toHaveLength(1);
    const card = `621700001001234567${luhnCheckDigit('621700001001234567')}`;
    expect(personalNumbers(`卡号 ${card}`)).toEqual([card]);

    // Every sheet of every roster whose publicity has started, printed by the county's finance section.
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const rosters = (await t.core.db('batch_roster').whereNotNull('publicity_start').whereIn('state', ['publicity', 'confirmed', 'reported']).select('id')) as { id: number }[];
    expect(rosters.length).toBeGreaterThan(0);
    const codes: string[] = [];
    for (const { id } of rosters) {
      for (const file of ['sheets.pdf', 'summary.pdf']) {
        const res = await finance.get(`/publicity/rosters/${id}/${file}`).buffer(true).parse(binaryParser);
        expect(res.status, `${id}/${file}`).toBe(200);
        const pages = pdfPages(res.body as Buffer);
        expect(personalNumbers(pages.join('\n')), `${id}/${file}`).toEqual([]);
        for (const page of pages) if (/第1页\/共/.test(page)) codes.push(codeOf(page)!);
      }
    }

    // Every public page, following the portal's own links from its entry pages and each printed sheet's page.
    const citizen = agentFor(t.core);
    // The column's home (/public) leads to every page of the county: notices, ledgers, violations, supervision phones, open data.
    const queue = ['/public', '/public/notices', '/public/policies', '/public/failed-payments', '/public/verify', '/public/ledgers', '/public/violations', '/public/supervision', '/public/data', ...codes.map((c) => `/public/verify/${c}`)];
    const seen = new Set<string>();
    while (queue.length && seen.size < 300) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await citizen.get(url).buffer(true).parse(binaryParser);
      expect(res.status, url).toBe(200);
      const body = res.body as Buffer;
      const type = String(res.headers['content-type']);
      // A page or text file as it is; a PDF as its text; a workbook as the XML of its parts.
      const text = type.includes('pdf') ? pdfPages(body).join('\n') : type.includes('spreadsheetml') ? Object.values(unzipSync(body)).map((part) => strFromU8(part)).join('\n') : body.toString('utf8');
      expect(personalNumbers(text), url).toEqual([]);
      if (type.includes('html')) for (const a of parse(text).querySelectorAll('a[href^="/public/"]')) queue.push(a.getAttribute('href')!.replace(/&amp;/g, '&'));
    }
    expect(seen.size).toBeGreaterThan(codes.length);
  });

  it('offers sheets only to those who may print them, and only for a roster whose publicity has started', async () => {
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    expect((await bank.get(`/publicity/rosters/${rosterId}/sheets.pdf`)).status).toBe(403);
    const station = agentFor(t.core);
    await login(station, 'station1');
    const draft = (await t.core.db('batch_roster as s').join('core_region as t', 't.id', 's.township_id').where({ 's.state': 'draft', 't.name': '城关镇' }).first('s.id')) as { id: number } | undefined;
    if (draft) {
      expect(parse((await station.get(`/rosters/${draft.id}`)).text).querySelector(`a[href="/publicity/rosters/${draft.id}"]`)).toBeNull();
      expect((await station.get(`/publicity/rosters/${draft.id}/sheets.pdf`)).status).toBe(409);
    }
    expect((await station.get('/publicity/settings')).status).toBe(403);
  });
});
