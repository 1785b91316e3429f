import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { ValidationError } from './errors.ts';

/**
 * Text files from outside (CSV from county Excel, other departments' data, bank files) come as UTF-8 with or
 * without a BOM, or GB18030 (what Chinese Excel writes with "CSV"). The encoding is detected, not asked: a BOM
 * says UTF-8; bytes that are valid UTF-8 are UTF-8; anything else is read as GB18030 (a superset of GBK/GB2312).
 */
export type TextEncoding = 'utf-8' | 'gb18030';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeText(bytes: Buffer): { text: string; encoding: TextEncoding } {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { text: utf8.decode(bytes.subarray(3)), encoding: 'utf-8' };
  }
  try {
    return { text: utf8.decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: iconv.decode(bytes, 'gb18030'), encoding: 'gb18030' };
  }
}

/**
 * The rows of a CSV file as trimmed strings (quoted fields, embedded commas and line breaks handled by
 * csv-parse); empty lines are skipped. A malformed file is refused with the line csv-parse stopped at.
 */
export function parseCsv(bytes: Buffer): { rows: string[][]; encoding: TextEncoding } {
  const { text, encoding } = decodeText(bytes);
  try {
    const rows = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
    return { rows, encoding };
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new ValidationError({ file: `CSV 文件格式有误${line ? `（第 ${line} 行附近）` : ''}：请检查引号是否成对` });
  }
}
