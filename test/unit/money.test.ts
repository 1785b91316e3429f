import { describe, expect, it } from 'vitest';
import { addFen, fen, formatYuan, multiplyFen, parseYuan } from '../../src/core/money.ts';

describe('Fen: money is integer fen', () => {
  it('parses 元 input exactly to the fen', () => {
    expect(parseYuan('1,234.50')).toEqual({ ok: true, fen: 123450 });
    expect(parseYuan('1234.5')).toEqual({ ok: true, fen: 123450 });
    expect(parseYuan('0.01')).toEqual({ ok: true, fen: 1 });
    expect(parseYuan('¥95')).toEqual({ ok: true, fen: 9500 });
    expect(parseYuan('  200元 ')).toEqual({ ok: true, fen: 20000 });
    // 0.1 + 0.2 style float artefacts cannot arise: the digits are read, not multiplied as floats.
    expect(parseYuan('0.29')).toEqual({ ok: true, fen: 29 });
    expect(parseYuan('1005.07')).toEqual({ ok: true, fen: 100507 });
  });

  it('refuses anything that is not exact to the fen, with a Chinese reason', () => {
    expect(parseYuan('1.234')).toEqual({ ok: false, error: '金额最多两位小数（精确到分）' });
    for (const bad of ['1e3', 'abc', '1,23.00', '12,34', '1.2.3', '--1', '.5', '1.']) {
      expect(parseYuan(bad).ok, bad).toBe(false);
    }
    expect(parseYuan('')).toEqual({ ok: false, error: '请填写金额' });
    expect(parseYuan('-5')).toEqual({ ok: false, error: '金额不能为负数' });
    expect(parseYuan('-5', { allowNegative: true })).toEqual({ ok: true, fen: -500 });
    expect(parseYuan('99999999999999999').ok).toBe(false);
  });

  it('formats fen back to 元 with separators and two decimals', () => {
    expect(formatYuan(123450)).toBe('1,234.50');
    expect(formatYuan(1)).toBe('0.01');
    expect(formatYuan(0)).toBe('0.00');
    expect(formatYuan(-100507)).toBe('-1,005.07');
    expect(formatYuan(123456789012)).toBe('1,234,567,890.12');
  });

  it('never accepts a fractional amount in arithmetic', () => {
    expect(() => fen(0.1 + 0.2)).toThrow('金额必须是整数分');
    expect(addFen(fen(10), fen(20))).toBe(30);
    expect(multiplyFen(fen(10550), 3000)).toBe(31650); // 3 units
    expect(multiplyFen(fen(10550), 12_345)).toBe(130240); // 12.345 亩 × 105.50 元 = 1302.3975 元 → 1302.40
    expect(multiplyFen(fen(333), 1_500)).toBe(500); // 499.5 分 rounds half up
    expect(multiplyFen(fen(9_999_999), 999_999_999)).toBe(9_999_998_990_000); // exact beyond 2^53 in the product
    expect(() => multiplyFen(fen(10550), 1.5)).toThrow('千分之一单位整数');
  });

  it('rounds standard × quantity half away from zero, the same for negative amounts', () => {
    expect(multiplyFen(fen(1), 500)).toBe(1); // 0.5 分 → 1
    expect(multiplyFen(fen(-1), 500)).toBe(-1); // −0.5 分 → −1, not 0
    expect(multiplyFen(fen(-333), 1_500)).toBe(-500); // −499.5 分 → −500
    expect(multiplyFen(fen(-3), 1_500)).toBe(-5); // −4.5 分 → −5
    expect(multiplyFen(fen(-1), 499)).toBe(0); // −0.499 分 → 0
    expect(multiplyFen(fen(-1), 1_501)).toBe(-2); // −1.501 分 → −2
    expect(multiplyFen(fen(-10550), 12_345)).toBe(-130240); // the mirror of 1302.3975 元 → 1302.40
    expect(multiplyFen(fen(-9_999_999), 999_999_999)).toBe(-9_999_998_990_000);
  });
});
