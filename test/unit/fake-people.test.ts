import { describe, expect, it } from 'vitest';
import { fakeHouseholds } from '../../seeds/fake-people.ts';
import { parseAccountNumber } from '../../src/modules/beneficiary/account-number.ts';
import { parseIdNumber } from '../../src/modules/beneficiary/id-number.ts';

describe('fake people for demo, tests and benchmark', () => {
  const households = fakeHouseholds({ households: 600, villages: ['东关社区', '西街村', '南河村'], sharedAccounts: 3, secondAccounts: 4 });
  const people = households.flatMap((h) => h.members);

  it('makes about 2,000 people in 600 households, each ID number valid and unique, birth date and sex matching', () => {
    expect(people.length).toBeGreaterThan(1500);
    expect(people.length).toBeLessThan(2600);
    expect(new Set(people.map((p) => p.idNumber)).size).toBe(people.length);
    for (const p of people) {
      const parsed = parseIdNumber(p.idNumber);
      expect(parsed, p.idNumber).toMatchObject({ ok: true, value: { birthDate: p.birthDate, sex: p.sex } });
    }
    expect(households.every((h) => h.members[0]!.relation === 'head')).toBe(true);
  });

  it('gives cards that pass Luhn, and the anomalies the checks must find', () => {
    const cards = people.flatMap((p) => p.accounts.filter((a) => a.kind !== 'passbook'));
    for (const a of cards) expect(parseAccountNumber(a.kind, a.number), a.number).toMatchObject({ ok: true, warnings: [] });
    const byNumber = new Map<string, number>();
    for (const a of people.flatMap((p) => p.accounts)) byNumber.set(a.number, (byNumber.get(a.number) ?? 0) + 1);
    expect([...byNumber.values()].filter((n) => n > 1)).toHaveLength(3);
    expect(people.filter((p) => p.accounts.length === 2)).toHaveLength(4);
    expect(people.some((p) => p.status === 'deceased')).toBe(true);
    expect(people.some((p) => p.status === 'moved')).toBe(true);
  });

  it('is the same for the same seed', () => {
    expect(fakeHouseholds({ households: 5, villages: ['甲村'] })).toEqual(fakeHouseholds({ households: 5, villages: ['甲村'] }));
  });
});
