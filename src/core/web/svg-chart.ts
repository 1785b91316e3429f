/**
 * Charts drawn on the server as inline SVG (no chart library, no JavaScript in the browser): they print as they show
 * and read out through their <title> and <desc>. A horizontal bar chart: one row per bar, its label on the left,
 * the bar scaled to the largest value, the value's text after the bar.
 */

export interface Bar {
  label: string;
  /** What the bar's length stands for (non-negative; fen, a count, a per-mille share …). */
  value: number;
  /** The value as the page writes it ("1,234.00", "92.3%"). */
  text: string;
}

export interface BarChart {
  /** The chart's title (<title>, and the accessible name). */
  title: string;
  /** What it shows, in a sentence (<desc>). */
  desc: string;
  bars: readonly Bar[];
  /** Total width in px (the SVG scales down to its container). */
  width?: number;
}

const ROW = 24;
const BAR = 16;
const GAP_TOP = 4;

/** Text escaped for XML (element content and attribute values). */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A label's width in px at 13px: CJK characters full width, others about half. */
const textWidth = (text: string) => [...text].reduce((w, ch) => w + (/[\u2e80-\uffff]/.test(ch) ? 13 : 7.5), 0);

let serial = 0;

/** The chart as an <svg> element (a string to insert unescaped: every text in it is escaped here). */
export function barChartSvg(chart: BarChart): string {
  const width = chart.width ?? 640;
  const id = `chart-${++serial}`;
  const labelWidth = Math.min(Math.max(60, ...chart.bars.map((b) => textWidth(b.label))) + 8, Math.round(width * 0.4));
  const valueWidth = Math.max(48, ...chart.bars.map((b) => textWidth(b.text))) + 8;
  const barSpace = Math.max(40, width - labelWidth - valueWidth);
  const max = Math.max(0, ...chart.bars.map((b) => b.value));
  const height = Math.max(1, chart.bars.length) * ROW + GAP_TOP * 2;
  const rows = chart.bars.map((b, i) => {
    const y = GAP_TOP + i * ROW;
    const length = max > 0 && b.value > 0 ? Math.max(1, Math.round((b.value / max) * barSpace)) : 0;
    return (
      `<g class="bar">` +
      `<text x="${labelWidth - 6}" y="${y + BAR - 3}" text-anchor="end">${escapeXml(b.label)}</text>` +
      `<rect x="${labelWidth}" y="${y}" width="${length}" height="${BAR}" fill="#3b6ea8"><title>${escapeXml(`${b.label}：${b.text}`)}</title></rect>` +
      `<text x="${labelWidth + length + 4}" y="${y + BAR - 3}">${escapeXml(b.text)}</text>` +
      `</g>`
    );
  });
  const empty = chart.bars.length === 0 ? `<text x="4" y="${GAP_TOP + BAR - 3}">无数据</text>` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-labelledby="${id}-t ${id}-d" font-size="13">` +
    `<title id="${id}-t">${escapeXml(chart.title)}</title><desc id="${id}-d">${escapeXml(chart.desc)}</desc>` +
    rows.join('') +
    empty +
    `</svg>`
  );
}
