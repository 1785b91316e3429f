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

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const isBlank = (c: number) => c === 0x20 || c === 0x09;
const endsCell = (c: number) => c === COMMA || c === CR || c === LF;

/** Line breaks in text[from, to): CRLF, LF or a lone CR (old Mac files). */
function lineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) count++;
  }
  return count;
}

/**
 * Read a CSV file row by row (RFC 4180, as Excel writes it: cells separated by commas; a cell in double quotes may
 * hold commas, line breaks and doubled quotes; rows end with CRLF, LF or CR). Each row's cells, trimmed, go to
 * `onRow` as they are read, with the line of the file the row starts on; blank lines are skipped. A malformed file
 * is refused (ValidationError) naming its line: a quote never closed, a quote inside a cell not in quotes, or text
 * after a closing quote. Whatever `onRow` throws stops the reading and propagates as it is.
 */
export function readCsv(bytes: Buffer, onRow: (line: number, cells: string[]) => void): TextEncoding {
  const { text, encoding } = decodeText(bytes);
  const refuse = (message: string): never => {
    throw new ValidationError({ file: message }, message);
  };
  const misplacedQuote = (line: number) => refuse(`CSV 文件第 ${line} 行引号位置有误：单元格中的英文双引号应写成两个（""），并用一对引号把整个单元格括起来`);
  const end = text.length;
  let i = 0;
  /** The line at i, and the line the row being read started on. */
  let line = 1;
  let rowLine = 1;
  let cells: string[] = [];
  for (;;) {
    let cell: string;
    const start = i;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === QUOTE) {
      const quoteLine = line;
      let from = ++i;
      cell = '';
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) refuse(`CSV 文件第 ${quoteLine} 行引号不成对：该行的引号直到文件末尾都没有结束，请检查该行的英文双引号`);
        line += lineBreaks(text, i, close);
        i = close + 1;
        if (text.charCodeAt(i) !== QUOTE) {
          cell += text.slice(from, close);
          break;
        }
        cell += text.slice(from, i);
        from = ++i;
      }
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      if (i < end && !endsCell(text.charCodeAt(i))) misplacedQuote(line);
    } else {
      while (i < end && !endsCell(text.charCodeAt(i))) {
        if (text.charCodeAt(i) === QUOTE) misplacedQuote(line);
        i++;
      }
      cell = text.slice(start, i);
    }
    cells.push(cell.trim());
    if (i < end && text.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }
    if (cells.length > 1 || cells[0] !== '') onRow(rowLine, cells);
    cells = [];
    if (i >= end) return encoding;
    i += text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
    rowLine = ++line;
  }
}
