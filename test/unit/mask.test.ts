import { describe, expect, it } from 'vitest';
import { maskAccount, maskIdNumber, maskName, maskPhone, scrubPersonalData } from '../../src/core/mask.ts';

describe('masking of personal data', () => {
  it('hides the birth date of an ID number by default, more in strict mode', () => {
    expect(maskIdNumber('11010519491231002X')).toBe('110105********002X');
    expect(maskIdNumber('11010519491231002X', 'strict')).toBe('110***********002X');
    expect(maskIdNumber('110105491231002')).toBe('110105******002');
  });

  it('shows only the last four digits of an account', () => {
    expect(maskAccount('6228480402564890018')).toBe('****0018');
    expect(maskAccount('6228 4804 0256 4890 018')).toBe('****0018');
  });

  it('masks names as 张* / 张*三 / 欧**明, or keeps them in full by county setting', () => {
    expect(maskName('张三')).toBe('张*');
    expect(maskName('张小三')).toBe('张*三');
    expect(maskName('欧阳小明')).toBe('欧**明');
    expect(maskName('张小三', 'full')).toBe('张小三');
  });

  it('masks phones', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
  });

  it('scrubs ID, account and mobile numbers out of free text', () => {
    const text = '身份证 11010519491231002X 账号 6228480402564890018 电话 13812345678 金额 12345';
    expect(scrubPersonalData(text)).toBe('身份证 110***********002X 账号 ****0018 电话 138****5678 金额 12345');
  });
});
