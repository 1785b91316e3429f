import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { formatYuan } from '../../src/core/money.ts';
import { neutraliseFormula, readTable } from '../../src/core/spreadsheet.ts';
import { formatQuantity } from '../../src/modules/batch/model.ts';
import { type RosterDocument, type RosterFileLine, writeRosterPdf, writeRosterXlsx } from '../../src/modules/batch/roster-files.ts';

const VILLAGES = ['西街村', '东关社区', '李家庄村', '北街社区', '河口村', '南关村', '王家湾村', '新民村', '红旗村', '柳树沟村', '石桥村', '城关村'];
const NAMES = ['王文', '欧阳建国', '李娜', '张伟', '刘芳', '陈静'];

/** 2,000 lines across 12 villages in no particular order; the last one's name and tier look like formulas. */
function bigRoster(): RosterDocument {
  const lines: RosterFileLine[] = Array.from({ length: 2000 }, (_, i) => {
    const quantityMilli = 1000 + ((i * 37) % 9000);
    return { village: VILLAGES[(i * 7) % VILLAGES.length]!, name: NAMES[i % NAMES.length]!, idMasked: `990102********${String(1000 + (i % 9000)).slice(-4)}`, tier: '标准', standardFen: 10550, quantityMilli, amountFen: Math.round((10550 * quantityMilli) / 1000) };
  });
  lines[1999] = { ...lines[1999]!, name: '=1+1', tier: '@A1' };
  return {
    title: '2026年耕地地力保护补贴资金发放清册（城关镇）',
    facts: ['补贴项目：耕地地力保护补贴　　主管部门：青禾县农业农村局', '发放期间：2026年　　补贴标准：105.50 元/亩', '乡镇：城关镇　　清册状态：待主管部门审核　　打印日期：2026-12-05'],
    unit: '亩',
    lines,
  };
}

const pdftotextAvailable = () => spawnSync('pdftotext', ['-v']).status === 0;
const pageObjects = (pdf: Buffer) => (pdf.toString('latin1').match(/\/Type \/Page(?![a-zA-Z])/g) ?? []).length;
const pageCount = (pdf: Buffer) => Number(/\/Type \/Pages\s*\/Count (\d+)/.exec(pdf.toString('latin1'))?.[1]);

/** Each page's text in the order it was drawn (pdftotext -raw: a table row is one line, its cells spaced). */
function pdfText(pdf: Buffer): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ykt-roster-'));
  try {
    writeFileSync(path.join(dir, 'r.pdf'), pdf);
    return spawnSync('pdftotext', ['-raw', path.join(dir, 'r.pdf'), '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout.split('\f').slice(0, -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('a roster printed whole', () => {
  const doc = bigRoster();
  const totalFen = doc.lines.reduce((sum, l) => sum + l.amountFen, 0);
  const villages = [...VILLAGES].sort(new Intl.Collator('zh-Hans-CN').compare);
  const printOrder = villages.flatMap((v) => doc.lines.filter((l) => l.village === v));

  it('prints 2,000 lines on numbered pages, none dropped, each village subtotalled, the total and the signatures at the end', async () => {
    const pdf = await writeRosterPdf(doc);
    const pages = pageCount(pdf);
    expect(pageObjects(pdf)).toBe(pages);
    // Rows of one text line each are of one height: about 35 to a page.
    expect(pages).toBeGreaterThan(2000 / 40);
    expect(pages).toBeLessThan(2000 / 30);
    if (!pdftotextAvailable()) return; // poppler-utils absent: the text checks need pdftotext.

    const texts = pdfText(pdf);
    expect(texts).toHaveLength(pages);
    texts.forEach((page, i) => expect(page).toContain(`第 ${i + 1} 页 / 共 ${pages} 页`));
    const rows = texts.flatMap((page) => page.split('\n'));
    // Every line once, in print order (villages in collation order, then line order), numbered through.
    expect(rows.filter((r) => /^\d+ \S/.test(r))).toEqual(
      printOrder.map((l, i) => [i + 1, l.village, l.name, l.idMasked, l.tier, formatYuan(l.standardFen), formatQuantity(l.quantityMilli), formatYuan(l.amountFen)].join(' ')),
    );
    for (const village of villages) {
      const lines = printOrder.filter((l) => l.village === village);
      const quantity = formatQuantity(lines.reduce((sum, l) => sum + l.quantityMilli, 0));
      expect(rows).toContain(`${village} 小计 ${lines.length} 人 ${quantity} ${formatYuan(lines.reduce((sum, l) => sum + l.amountFen, 0))}`);
    }
    expect(rows).toContain(`合计 2000 人 ${formatQuantity(doc.lines.reduce((sum, l) => sum + l.quantityMilli, 0))} ${formatYuan(totalFen)}`);
    const last = texts.at(-1)!.replace(/\s/g, '');
    expect(last).toContain(`本清册共2000人，金额合计${formatYuan(totalFen)}元。`);
    for (const label of ['经办人：', '复核人（财政所）：', '审核人（主管部门）：', '日期：']) expect(last).toContain(label);
  });

  it('prints an empty roster as one page with a zero total and the signatures', async () => {
    const pdf = await writeRosterPdf({ ...doc, lines: [] });
    expect(pageCount(pdf)).toBe(1);
    if (!pdftotextAvailable()) return;
    const [page] = pdfText(pdf);
    expect(page).toContain('合计 0 人 0 0.00');
    expect(page!.replace(/\s/g, '')).toContain('本清册共0人，金额合计0.00元。');
  });

  it('writes the same rows to Excel: values only (text that would start a formula neutralised), IDs as text, totals in fen', async () => {
    const xlsx = await writeRosterXlsx(doc);
    const xml = Object.entries(unzipSync(new Uint8Array(xlsx)))
      .filter(([name]) => name.endsWith('.xml'))
      .map(([, data]) => strFromU8(data))
      .join('\n');
    expect(xml).not.toMatch(/<f[ >]/);
    expect(xml).toContain('<oddFooter>&amp;C第 &amp;P 页 共 &amp;N 页</oddFooter>');

    const table = await readTable(xlsx, { headerHas: ['序号', '身份证号码'], required: [], rowNoun: '发放明细', formatHint: '' });
    if (typeof table === 'string') throw new Error(table);
    const cell = (row: { cells: string[] }, header: string) => row.cells[table.columns.get(header)!]!;
    const data = table.rows.filter((r) => /^\d+$/.test(cell(r, '序号')));
    expect(data).toHaveLength(2000);
    expect(data.some((r) => r.numeric.includes(table.columns.get('身份证号码')!))).toBe(false);
    const odd = data.find((r) => cell(r, '姓名') === "'=1+1")!;
    expect(cell(odd, '档次')).toBe("'@A1");
    // Villages in Chinese collation order, each followed by its subtotal; the grand total last.
    expect(data.map((r) => `${cell(r, '村（社区）')} ${cell(r, '姓名')}`)).toEqual(printOrder.map((l) => `${l.village} ${neutraliseFormula(l.name)}`));
    expect(table.rows.map((r) => cell(r, '村（社区）')).filter((v) => v.endsWith(' 小计'))).toEqual(villages.map((v) => `${v} 小计`));
    const total = table.rows.find((r) => cell(r, '村（社区）') === '合计')!;
    expect(cell(total, '姓名')).toBe('2000 人');
    expect(Math.round(Number(cell(total, '金额（元）')) * 100)).toBe(totalFen);
    expect(table.header).toContain('数量（亩）');
  });
});
