import { describe, expect, it } from 'vitest';
import { hashPassword, passwordPolicyError, verifyPassword } from '../../src/core/auth/password.ts';
import { roleCombinationError } from '../../src/core/auth/roles.ts';
import { acceptedTotpStep, currentTotpCode, newTotpSecret } from '../../src/core/auth/totp.ts';
import { businessDate, formatDateTime, isBusinessDate, startOfBusinessDateIso } from '../../src/core/dates.ts';

describe('business dates in Asia/Shanghai', () => {
  it('takes the date in Shanghai, not UTC', () => {
    expect(businessDate(new Date('2026-11-23T16:30:00Z'))).toBe('2026-11-24');
    expect(businessDate(new Date('2026-11-23T15:59:59Z'))).toBe('2026-11-23');
    expect(formatDateTime('2026-11-23T16:30:00.000Z')).toBe('2026-11-24 00:30');
    expect(startOfBusinessDateIso('2026-11-24')).toBe('2026-11-23T16:00:00.000Z');
  });
  it('accepts only real calendar dates', () => {
    expect(isBusinessDate('2028-02-29')).toBe(true);
    expect(isBusinessDate('2026-02-29')).toBe(false);
    expect(isBusinessDate('2026-2-1')).toBe(false);
  });
});

describe('passwords', () => {
  it('requires 8 characters of 3 kinds', () => {
    expect(passwordPolicyError('Ab1!')).toBe('密码至少 8 位');
    expect(passwordPolicyError('abcdefgh1')).toBe('密码须包含大写字母、小写字母、数字、符号中的至少三类');
    expect(passwordPolicyError('Abcdefg1')).toBeNull();
    expect(passwordPolicyError('Station1#x', 'station1')).toBe('密码不能包含用户名');
  });
  it('hashes with scrypt and verifies', async () => {
    const h = await hashPassword('Abcdefg1', 10);
    expect(h.startsWith('scrypt$10$8$1$')).toBe(true);
    expect(await verifyPassword('Abcdefg1', h)).toBe(true);
    expect(await verifyPassword('Abcdefg2', h)).toBe(false);
  });
});

describe('roles', () => {
  it('keeps admin and auditor apart from every other role (三权分立), and the incompatible pairs apart', () => {
    expect(roleCombinationError(['admin', 'auditor'], null)).toContain('三权分立');
    expect(roleCombinationError(['admin', 'finance_section'], null)).toContain('三权分立');
    expect(roleCombinationError(['auditor', 'supervisor'], null)).toContain('三权分立');
    expect(roleCombinationError(['auditor'], null)).toBeNull();
    expect(roleCombinationError(['department'], null)).toBe('业务主管部门用户必须指定所属主管部门');
    expect(roleCombinationError(['finance_section', 'treasury'], null)).toBe('财政局业务科室与国库科不能由同一账户兼任（审核下达资金与拨付资金须由不同的人办理）');
    expect(roleCombinationError(['township_finance', 'township_station'], null)).toBe('乡镇经办站所与乡镇财政所不能由同一账户兼任（编制清册与复核比对须由不同的人办理）');
    expect(roleCombinationError(['township_station', 'department'], 'department')).toBeNull();
  });
});

describe('TOTP', () => {
  it('accepts the current code once per step and refuses others', () => {
    const secret = newTotpSecret();
    const now = Date.parse('2026-11-23T08:00:10Z');
    const step = acceptedTotpStep(secret, currentTotpCode(secret, now), now);
    expect(step).toBe(Math.floor(now / 30000));
    expect(acceptedTotpStep(secret, currentTotpCode(secret, now - 30000), now)).toBe(step! - 1);
    expect(acceptedTotpStep(secret, currentTotpCode(secret, now - 120000), now)).toBeNull();
    expect(acceptedTotpStep(secret, 'abcdef', now)).toBeNull();
  });
});
