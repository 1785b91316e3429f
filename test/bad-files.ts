import zlib from 'node:zlib';
import { Zip, type ZipInputFile, ZipPassThrough, strToU8 } from 'fflate';

/** Files people upload by mistake or on purpose in place of a table, for the tests of the upload paths. */

const MB = 1024 * 1024;

/**
 * A workbook whose shared-string part inflates to `megabytes` MB of one repeated entry while the file is about
 * 1 MB (a zip bomb). Its one sheet is small and well formed. The repeated block is deflated once, and its copies
 * put one after the other in the part's deflate stream, so that the file is built in well under a second.
 */
export function zipBombWorkbook(megabytes = 250): Buffer {
  const entry = Buffer.from(`<si><t>${'重复的文字'.repeat(20)}</t></si>`);
  const block = Buffer.concat(Array<Buffer>(Math.floor(MB / entry.length)).fill(entry));
  const head = Buffer.from('<sst>');
  const tail = Buffer.from('</sst>');
  const copies = Math.ceil((megabytes * MB) / block.length);
  // Each piece deflated on its own and flushed to a byte boundary: the pieces concatenate into one valid stream.
  const flushed = (bytes: Buffer) => zlib.deflateRawSync(bytes, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  let crc = zlib.crc32(head);
  for (let i = 0; i < copies; i++) crc = zlib.crc32(block, crc);
  crc = zlib.crc32(tail, crc);

  const chunks: Uint8Array[] = [];
  const zip = new Zip((err, data) => {
    if (err) throw err;
    chunks.push(data);
  });
  const stored = (name: string, text: string) => {
    const file = new ZipPassThrough(name);
    zip.add(file);
    file.push(strToU8(text), true);
  };
  stored('[Content_Types].xml', '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
  stored('xl/worksheets/sheet1.xml', '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>');
  const strings: ZipInputFile = { filename: 'xl/sharedStrings.xml', compression: 8, size: head.length + copies * block.length + tail.length, crc };
  zip.add(strings);
  const copy = flushed(block);
  strings.ondata!(null, flushed(head), false);
  for (let i = 0; i < copies; i++) strings.ondata!(null, copy, false);
  strings.ondata!(null, zlib.deflateRawSync(tail), true);
  zip.end();
  return Buffer.concat(chunks);
}

/** A PNG picture (its signature and header chunk), as if renamed to .xlsx. */
export const PNG_PICTURE = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(64, 7)]);

/** The first bytes of an old Excel 97–2003 workbook (.xls: an OLE2 compound file). */
export const OLD_XLS = Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(504)]);

/** The first half of a workbook, as an interrupted download or copy leaves it. */
export const truncated = (workbook: Buffer) => workbook.subarray(0, Math.floor(workbook.length / 2));
