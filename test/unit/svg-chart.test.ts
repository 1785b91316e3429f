// The server-drawn bar chart (core/web/svg-chart.ts): one bar per item scaled to the largest, texts escaped, an
// accessible name and description, nothing to run in the browser.
import { parse } from 'node-html-parser';
import { describe, expect, it } from 'vitest';
import { barChartSvg, escapeXml } from '../../src/core/web/svg-chart.ts';

describe('barChartSvg', () => {
  it('draws one bar per item, the longest for the largest value, with its label and value text', () => {
    const svg = parse(barChartSvg({ title: '按乡镇的发放金额', desc: '各乡镇发放成功的金额', bars: [
      { label: '城关镇', value: 200, text: '2.00' },
      { label: '河西乡', value: 100, text: '1.00' },
      { label: '空的', value: 0, text: '0.00' },
    ] })).querySelector('svg')!;
    expect(svg.getAttribute('role')).toBe('img');
    const [t, d] = svg.getAttribute('aria-labelledby')!.split(' ');
    expect(svg.querySelector(`#${t}`)!.text).toBe('按乡镇的发放金额');
    expect(svg.querySelector(`#${d}`)!.text).toBe('各乡镇发放成功的金额');
    const bars = svg.querySelectorAll('g.bar');
    expect(bars.length).toBe(3);
    const widths = bars.map((b) => Number(b.querySelector('rect')!.getAttribute('width')));
    expect(widths[0]).toBeGreaterThan(widths[1]!);
    expect(widths[1]).toBeCloseTo(widths[0]! / 2, 0);
    expect(widths[2]).toBe(0);
    expect(bars.map((b) => b.querySelectorAll('text').map((x) => x.text))).toEqual([['城关镇', '2.00'], ['河西乡', '1.00'], ['空的', '0.00']]);
    expect(bars[0]!.querySelector('rect title')!.text).toBe('城关镇：2.00');
  });

  it('escapes every text, draws nothing to run, and says so when there is no data', () => {
    const html = barChartSvg({ title: '<script>alert(1)</script>', desc: 'a & "b"', bars: [{ label: '</text><script>x</script>', value: 1, text: '1' }] });
    expect(html).not.toMatch(/<script/);
    expect(html).toContain('&lt;script&gt;');
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    const empty = parse(barChartSvg({ title: '空', desc: '无', bars: [] })).querySelector('svg')!;
    expect(empty.querySelectorAll('g.bar').length).toBe(0);
    expect(empty.text).toContain('无数据');
  });

  it('gives each chart of a page its own ids', () => {
    const a = barChartSvg({ title: 'a', desc: 'a', bars: [] });
    const b = barChartSvg({ title: 'b', desc: 'b', bars: [] });
    expect(parse(a).querySelector('title')!.id).not.toBe(parse(b).querySelector('title')!.id);
  });
});
