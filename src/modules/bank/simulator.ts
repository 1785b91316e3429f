import { seededRandom } from '../../core/random.ts';
import { type TableSpec, csvLine, readTable } from '../../core/spreadsheet.ts';
import { FAILURE_CODES, type FailureCode } from './results.ts';

/**
 * The bank simulator (`ykt bank-sim`): reads a payout file (CSV in UTF-8 or GB18030, or XLSX, as the platform
 * writes them) and writes the result file a bank would send back (docs/result-file-format.md): its summary (count,
 * total, successes, failures), then every line, with a chosen share of failures and their reasons, so that the demo
 * and the tests can run the loop without a bank. The failures are chosen by a seeded generator: the same input, rate
 * and seed give the same file.
 */
const SPEC: TableSpec = { headerHas: ['流水号', '账号'], required: ['流水号', '金额（分）'], rowNoun: '代发明细', formatHint: '请使用平台下载的代发文件（CSV 或 Excel）' };
const SIMULATED: FailureCode[] = ['F01', 'F02', 'F03', 'F04', 'F05'];

export async function simulateResults(payout: Buffer, options: { failRate: number; seed: number }): Promise<{ csv: Buffer; lines: number; failed: number }> {
  if (!(options.failRate >= 0 && options.failRate <= 1)) throw new Error('失败比例应在 0 到 1 之间');
  const table = await readTable(payout, SPEC);
  if (typeof table === 'string') throw new Error(table);
  const rnd = seededRandom(options.seed);
  const column = (name: string) => table.columns.get(name)!;
  let failed = 0;
  const lines = table.rows.map(({ cells }): ResultLine => {
    const ref = cells[column('流水号')]!;
    const amountFen = cells[column('金额（分）')]!;
    if (rnd() < options.failRate) {
      failed++;
      const code = SIMULATED[Math.floor(rnd() * SIMULATED.length)]!;
      return { ref, amountFen, result: '失败', code, reason: `${FAILURE_CODES[code]}（模拟）` };
    }
    return { ref, amountFen, result: '成功' };
  });
  return { csv: resultFileCsv(lines), lines: lines.length, failed };
}

/** One line of a result file: its reference and amount as in the payout file, 成功 or 失败, the failure's code and reason. */
export interface ResultLine {
  ref: string;
  amountFen: number | string;
  result: string;
  code?: string;
  reason?: string;
}

/**
 * A result file as a bank writes it (CSV, UTF-8 with a BOM): the summary of exactly these lines (count, total in
 * fen, successes, failures), a blank row, then the lines under their header.
 */
export function resultFileCsv(lines: readonly ResultLine[]): Buffer {
  const totalFen = lines.reduce((sum, l) => sum + Number(l.amountFen), 0);
  const paid = lines.filter((l) => l.result === '成功').length;
  const failed = lines.filter((l) => l.result === '失败').length;
  const rows = [
    csvLine(['总笔数', '总金额（分）', '成功笔数', '失败笔数']),
    csvLine([lines.length, totalFen, paid, failed]),
    '',
    csvLine(['流水号', '金额（分）', '结果', '失败代码', '失败原因']),
    ...lines.map((l) => csvLine([l.ref, l.amountFen, l.result, l.code ?? '', l.reason ?? ''])),
  ];
  return Buffer.from(`\ufeff${rows.join('\r\n')}\r\n`, 'utf8');
}

const NOTICE_SPEC: TableSpec = { headerHas: ['告知编号', '短信内容'], required: ['告知编号'], rowNoun: '告知', formatHint: '请使用平台下载的补贴发放告知文件' };
const SMS_FAILURES = ['手机号码停机', '手机号码为空号', '未预留手机号码'];

/**
 * The bank's side of payment notices (`ykt bank-sim --notices`): reads a notice file (docs/notice-format.md) and
 * writes the confirmation file a bank would send back — each notice 已发送, or 失败 with a reason for a chosen share,
 * chosen by a seeded generator (the same input, rate and seed give the same file).
 */
export async function simulateNoticeConfirmations(noticeFile: Buffer, options: { failRate: number; seed: number }): Promise<{ csv: Buffer; notices: number; failed: number }> {
  if (!(options.failRate >= 0 && options.failRate <= 1)) throw new Error('失败比例应在 0 到 1 之间');
  const table = await readTable(noticeFile, NOTICE_SPEC);
  if (typeof table === 'string') throw new Error(table);
  const rnd = seededRandom(options.seed);
  const id = table.columns.get('告知编号')!;
  let failed = 0;
  const rows = table.rows.map(({ cells }) => {
    if (rnd() < options.failRate) {
      failed++;
      return csvLine([cells[id]!, '失败', `${SMS_FAILURES[Math.floor(rnd() * SMS_FAILURES.length)]}（模拟）`]);
    }
    return csvLine([cells[id]!, '已发送', '']);
  });
  return { csv: Buffer.from(`\ufeff${[csvLine(['告知编号', '结果', '失败原因']), ...rows].join('\r\n')}\r\n`, 'utf8'), notices: rows.length, failed };
}

const ACCOUNT_CHECK_SPEC: TableSpec = { headerHas: ['核验编号', '账号'], required: ['核验编号'], rowNoun: '核验', formatHint: '请使用平台下载的账户核验名单' };
const ACCOUNT_PROBLEMS: [string, string][] = [
  ['已销户', '该账户已于本年销户（模拟）'],
  ['已冻结', '该账户已被司法冻结（模拟）'],
  ['户名不符', '账户户名与名单不一致（模拟）'],
  ['账户不存在', '本行无此账号（模拟）'],
];

/**
 * The bank's side of an account verification (`ykt bank-sim --accounts`): reads the platform's verification list
 * (docs/account-check-format.md) and writes the answer a bank would send back — each line 一致, or, for a chosen
 * share, a problem with its explanation, chosen by a seeded generator (the same input, rate and seed give the same file).
 */
export async function simulateAccountCheck(list: Buffer, options: { failRate: number; seed: number }): Promise<{ csv: Buffer; lines: number; failed: number }> {
  if (!(options.failRate >= 0 && options.failRate <= 1)) throw new Error('失败比例应在 0 到 1 之间');
  const table = await readTable(list, ACCOUNT_CHECK_SPEC);
  if (typeof table === 'string') throw new Error(table);
  const rnd = seededRandom(options.seed);
  const column = (name: string) => table.columns.get(name);
  let failed = 0;
  const rows = table.rows.map(({ cells }) => {
    const keep = ['核验编号', '户名', '身份证号码', '账号'].map((name) => (column(name) === undefined ? '' : cells[column(name)!]!));
    if (rnd() < options.failRate) {
      failed++;
      return csvLine([...keep, ...ACCOUNT_PROBLEMS[Math.floor(rnd() * ACCOUNT_PROBLEMS.length)]!]);
    }
    return csvLine([...keep, '一致', '']);
  });
  return { csv: Buffer.from(`\ufeff${[csvLine(['核验编号', '户名', '身份证号码', '账号', '核验结果', '说明']), ...rows].join('\r\n')}\r\n`, 'utf8'), lines: rows.length, failed };
}
