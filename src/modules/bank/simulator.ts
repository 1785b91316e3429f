import { seededRandom } from '../../core/random.ts';
import { type TableSpec, readTable } from '../../core/spreadsheet.ts';
import { FAILURE_CODES, type FailureCode } from './results.ts';

/**
 * The bank simulator (`ykt bank-sim`): reads a payout file (CSV in UTF-8 or GB18030, or XLSX, as the platform
 * writes them) and writes the result file a bank would send back (docs/result-file-format.md), with a chosen
 * share of failures and their reasons, so that the demo and the tests can run the loop without a bank. The
 * failures are chosen by a seeded generator: the same input, rate and seed give the same file.
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
  const rows = table.rows.map(({ cells }) => {
    const ref = cells[column('流水号')]!;
    const amount = cells[column('金额（分）')]!;
    if (rnd() < options.failRate) {
      failed++;
      const code = SIMULATED[Math.floor(rnd() * SIMULATED.length)]!;
      return `${ref},${amount},失败,${code},${FAILURE_CODES[code]}（模拟）`;
    }
    return `${ref},${amount},成功,,`;
  });
  const csv = Buffer.from(`\ufeff流水号,金额（分）,结果,失败代码,失败原因\r\n${rows.join('\r\n')}\r\n`, 'utf8');
  return { csv, lines: rows.length, failed };
}
