import { maskIdNumber, maskName } from '../src/core/mask.ts';
import { formatYuan } from '../src/core/money.ts';
import { type SheetContent, newSheetCode, sheetDigest } from '../src/modules/publicity/model.ts';
import { writeSheetsPdf } from '../src/modules/publicity/sheets.ts';
import { fakeHouseholds } from '../seeds/fake-people.ts';

/**
 * publicity_pdf_2000_s / publicity_pdf_2000_kb: one village's publicity sheet of 2,000 lines (fake people, one of
 * them with a CJK Extension B character so that the fallback font is embedded as it would be), written to PDF: the
 * seconds of the second write in this process (the first also reads the fonts from disk) and the file's size.
 */
export async function publicityFigures(): Promise<{ seconds: number; kb: number }> {
  const people = fakeHouseholds({ households: 700, villages: ['东关社区'], seed: 16 })
    .flatMap((h) => h.members)
    .slice(0, 2000);
  const standardFen = 10_550;
  const lines = people.map((p, i) => ({
    no: i + 1,
    name: maskName(i === 7 ? `𠮷${p.name.slice(1)}` : p.name),
    id: maskIdNumber(p.idNumber),
    tier: '一档',
    standard: formatYuan(standardFen),
    quantity: String(1 + (i % 9)),
    amount: formatYuan(standardFen * (1 + (i % 9))),
  }));
  const totalFen = people.reduce((sum, _p, i) => sum + standardFen * (1 + (i % 9)), 0);
  const content: SheetContent = {
    kind: 'village',
    rosterId: 1,
    title: '2026年耕地地力保护补贴资金公示表',
    county: '青禾县',
    township: '城关镇',
    village: '东关社区',
    subsidy: '耕地地力保护补贴资金',
    basis: '《关于全面推开农业“三项补贴”改革工作的通知》（财农〔2016〕26号）',
    department: '青禾县农业农村局',
    period: '2026年',
    standard: '一档 105.50 元/亩',
    unit: '亩',
    publicityStart: '2026-12-01',
    publicityEnd: '2026-12-07',
    afterPayment: false,
    phones: { county: '0990-12345', township: '0990-821001' },
    objection: '对公示内容有异议的，请在公示期内向村（居）委会、乡镇（街道）经办站所或财政所实名反映，也可拨打监督电话。',
    lines,
    total: { people: lines.length, quantity: String(lines.reduce((s, _l, i) => s + 1 + (i % 9), 0)), amount: formatYuan(totalFen), amountFen: totalFen },
  };
  const sheet = { content, code: newSheetCode(), digest: sheetDigest(content), verifyUrl: 'https://ykt.example.gov.cn/public/verify/0000000000' };
  await writeSheetsPdf([sheet]);
  const started = performance.now();
  const pdf = await writeSheetsPdf([sheet]);
  return { seconds: (performance.now() - started) / 1000, kb: pdf.length / 1024 };
}
