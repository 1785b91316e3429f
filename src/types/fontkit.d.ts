// The part of fontkit (pdfkit's own font engine) that src/core/pdf.ts uses: which characters a font can draw.
declare module 'fontkit' {
  export interface Font {
    hasGlyphForCodePoint(codePoint: number): boolean;
  }
  export function create(data: Buffer): Font;
}
