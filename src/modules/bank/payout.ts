import iconv from 'iconv-lite';
import { businessDate, isoWithOffset } from '../../core/dates.ts';
import { giveWay } from '../../core/give-way.ts';
import { csvLine, neutraliseFormula, writeTableXlsx } from '../../core/spreadsheet.ts';

/**
 * The payout file (代发文件) of a released round, in the formats banks take, each an adapter behind one interface
 * (docs/payout-file-format.md): CSV in UTF-8 with BOM or in GB18030, XLSX, and a fixed-width GB18030 text. Each
 * carries a header with the count and the total in fen and one detail per line: a unique line reference, the
 * holder's name, the account, the amount in fen, the policy. Pure: no database. No field carries a formula: every
 * text (name, account, reference, title …) that starts with = + - @, a tab or a carriage return gets an apostrophe
 * in front, in every format; the numbers (amounts in fen, never negative here, counts, the round) are written as
 * they are (docs/payout-file-format.md).
 */
export interface PayoutDocument {
  roundId: number;
  title: string;
  period: string;
  policy: string;
  bank: string;
  agreementNo: string;
  generatedAt: string;
  count: number;
  totalFen: number;
  lines: { ref: string; name: string; account: string; amountFen: number }[];
}

export interface PayoutFormat {
  code: string;
  label: string;
  extension: string;
  contentType: string;
  write(doc: PayoutDocument): Promise<Buffer>;
}

/**
 * The line reference the bank returns with each result: round and line, unique across the deployment; a line sent
 * again in a supplementary payout carries its attempt (R12-3402-2).
 */
export const lineRef = (roundId: number, lineId: number, attempt = 1) => (attempt === 1 ? `R${roundId}-${lineId}` : `R${roundId}-${lineId}-${attempt}`);

const HEADER_COLUMNS = ['批次号', '批次名称', '期间', '补贴项目', '代发金融机构', '代发协议', '笔数', '总金额（分）', '生成时间'];
const DETAIL_COLUMNS = ['流水号', '户名', '账号', '金额（分）', '补贴项目'];

const headRows = (doc: PayoutDocument): (string | number)[][] => [[doc.roundId, doc.title, doc.period, doc.policy, doc.bank, doc.agreementNo, doc.count, doc.totalFen, isoWithOffset(doc.generatedAt)], [], DETAIL_COLUMNS];
const detailRow = (doc: PayoutDocument, l: PayoutDocument['lines'][number]): (string | number)[] => [l.ref, l.name, l.account, l.amountFen, doc.policy];

const tableRows = (doc: PayoutDocument): (string | number)[][] => [...headRows(doc), ...doc.lines.map((l) => detailRow(doc, l))];

/**
 * Lines written per slice of a text file: a 200,000-line file is some 0.3 s of work, done in slices with page views
 * let through between them (core/give-way.ts).
 */
const SLICE = 5_000;

async function csvText(doc: PayoutDocument): Promise<string> {
  const parts = [[HEADER_COLUMNS, ...headRows(doc)].map(csvLine).join('\r\n')];
  for (let i = 0; i < doc.lines.length; i += SLICE) {
    parts.push(doc.lines.slice(i, i + SLICE).map((l) => csvLine(detailRow(doc, l))).join('\r\n'));
    await giveWay();
  }
  return `${parts.join('\r\n')}\r\n`;
}

/** A number padded with zeros on the left to a width in bytes. */
const digits = (value: number | string, bytes: number) => fixed(String(value), bytes, 'right', '0');

/** A text field, neutralised (neutraliseFormula), padded with spaces or cut to a width in GB18030 bytes. */
const textField = (value: string, bytes: number) => fixed(neutraliseFormula(value), bytes, 'left', ' ');

/** Text padded or cut to a width in GB18030 bytes (a Chinese character is two), never splitting a character. */
function fixed(text: string, bytes: number, align: 'left' | 'right', fill: string): Buffer {
  let encoded = iconv.encode(text, 'gb18030');
  if (encoded.length > bytes) {
    let cut = '';
    for (const ch of text) {
      if (iconv.encode(cut + ch, 'gb18030').length > bytes) break;
      cut += ch;
    }
    encoded = iconv.encode(cut, 'gb18030');
  }
  const pad = Buffer.alloc(bytes - encoded.length, fill);
  return align === 'left' ? Buffer.concat([encoded, pad]) : Buffer.concat([pad, encoded]);
}

export const PAYOUT_FORMATS: PayoutFormat[] = [
  { code: 'csv', label: 'CSV（UTF-8）', extension: 'csv', contentType: 'text/csv; charset=utf-8', write: async (doc) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(await csvText(doc), 'utf8')]) },
  { code: 'csv-gb18030', label: 'CSV（GB18030）', extension: 'csv', contentType: 'text/csv; charset=gb18030', write: async (doc) => iconv.encode(await csvText(doc), 'gb18030') },
  { code: 'xlsx', label: 'Excel（.xlsx）', extension: 'xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', write: (doc) => writeTableXlsx('代发明细', HEADER_COLUMNS, tableRows(doc), new Date(doc.generatedAt)) },
  {
    code: 'txt',
    label: '定长文本（GB18030）',
    extension: 'txt',
    contentType: 'text/plain; charset=gb18030',
    async write(doc) {
      const crlf = Buffer.from('\r\n');
      const parts: Buffer[] = [
        Buffer.concat([Buffer.from('H'), digits(doc.roundId, 10), digits(doc.count, 10), digits(doc.totalFen, 15), digits(businessDate(new Date(doc.generatedAt)).replace(/-/g, ''), 8), textField(doc.title, 60), crlf]),
      ];
      for (const [i, l] of doc.lines.entries()) {
        parts.push(Buffer.concat([Buffer.from('D'), textField(l.ref, 24), textField(l.name, 40), textField(l.account, 32), digits(l.amountFen, 15), crlf]));
        if ((i + 1) % SLICE === 0) await giveWay();
      }
      parts.push(Buffer.concat([Buffer.from('T'), digits(doc.count, 10), digits(doc.totalFen, 15), crlf]));
      return Buffer.concat(parts);
    },
  },
];
