import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPdf, fontFor, needsFallbackFont, pdfToBuffer } from '../../src/core/pdf.ts';

/** A one-character page at 72 pt, rendered by poppler to an 8-bit grey image: its pixels. */
async function rendered(character: string): Promise<{ pixels: Buffer; fonts: string; text: string }> {
  const doc = createPdf({ title: 'glyph' });
  doc.font(fontFor(doc, character, 'zh')).fontSize(72).text(character, 100, 100, { lineBreak: false });
  const pdf = await pdfToBuffer(doc);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ykt-glyph-'));
  try {
    writeFileSync(path.join(dir, 'g.pdf'), pdf);
    spawnSync('pdftoppm', ['-gray', '-r', '36', '-f', '1', '-l', '1', path.join(dir, 'g.pdf'), path.join(dir, 'g')]);
    const pgm = readFileSync(path.join(dir, 'g-1.pgm'));
    // P5 header: magic, width, height, max value, each followed by whitespace; the pixels after.
    const header = /^P5\s+\d+\s+\d+\s+\d+\s/.exec(pgm.toString('latin1'))![0];
    return {
      pixels: pgm.subarray(header.length),
      fonts: spawnSync('pdffonts', [path.join(dir, 'g.pdf')], { encoding: 'utf8' }).stdout,
      text: spawnSync('pdftotext', [path.join(dir, 'g.pdf'), '-'], { encoding: 'utf8' }).stdout,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ink = (pixels: Buffer) => pixels.reduce((n, p) => n + (p < 128 ? 1 : 0), 0);

describe('names with rare characters on printed sheets (GB 18030-2022, CJK Extension B)', () => {
  it('knows which characters the main font lacks', () => {
    expect(needsFallbackFont('张三')).toBe(false);
    expect(needsFallbackFont('𠮷祥')).toBe(true);
    expect(needsFallbackFont('𡘙')).toBe(true);
  });

  it('prints 𠮷 with the fallback font as a real glyph, not a blank or the empty box of a missing one', async () => {
    const rare = await rendered('𠮷');
    // U+10FFFD is in no font: what a missing glyph looks like.
    const missing = await rendered('\u{10FFFD}');
    expect(rare.fonts).toContain('SourceHanSansSC-Regular');
    expect(rare.text).toContain('𠮷');
    expect(ink(rare.pixels)).toBeGreaterThan(50);
    expect(rare.pixels.equals(missing.pixels)).toBe(false);
    // The glyph has more strokes than a box's outline: more ink than the missing glyph.
    expect(ink(rare.pixels)).toBeGreaterThan(ink(missing.pixels));
  });
});
