import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, ValidationError } from '../../src/core/errors.ts';
import { fen } from '../../src/core/money.ts';
import { createPolicy, publishPolicyVersion, recordAllocation, returnPolicyVersion, savePolicyDraft } from '../../src/modules/policy/commands.ts';
import { allocatedFen, listRegionFor, policyList, versionInForce } from '../../src/modules/policy/index.ts';
import { policyVersions } from '../../src/modules/policy/queries.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, createSeededDb, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const input = {
  name: '青禾县独生子女父母奖励',
  legalBasisTitle: '青禾县独生子女父母奖励办法',
  legalBasisNumber: '青卫发〔2026〕1号',
  payee: 'person' as const,
  frequency: 'yearly' as const,
  unit: '人',
  tiers: [{ name: '标准', standardFen: fen(120_00) }],
  fromYear: 2026,
  toYear: null,
  effectiveYear: 2026,
  confidential: false,
  meansTested: false,
  emergencyRelief: false,
  exclusiveGroups: [],
  changeNote: null,
};

async function itemId(db: TestDb, code: string): Promise<number> {
  return (await db.core.db('policy_item').where({ code }).first()).id;
}

describe(`the policy list (${TEST_DB})`, () => {
  it("gives the county the inherited 17 items and its own, each year's versions, and hides confidential ones publicly", async () => {
    t = await createSeededDb();
    const county = await listRegionFor(t.core.db, await regionId(t, '西街村'));
    expect(county.name).toBe('青禾县');
    const staff2026 = await policyList(t.core.db, county, 2026, { publicOnly: false });
    const public2026 = await policyList(t.core.db, county, 2026, { publicOnly: true });
    expect(staff2026).toHaveLength(20);
    expect(public2026).toHaveLength(19);
    expect(public2026.some((v) => v.confidential)).toBe(false);
    // 动态调整: 耕地地力保护 was 98.00 元/亩 until 2023 and 105.50 from 2024; the 2023 list shows 2023's version.
    const farmland = (year: number) => policyList(t!.core.db, county, year, { publicOnly: true }).then((l) => l.find((v) => v.code === 'JC-01')!);
    expect((await farmland(2023)).tiers).toEqual([{ name: '标准', standardFen: 9800 }]);
    expect((await farmland(2026)).tiers).toEqual([{ name: '标准', standardFen: 10550 }]);
    expect((await versionInForce(t.core.db, await itemId(t, 'JC-01'), 2023))!.versionNo).toBe(1);
    // Items that have not started or have ended are not in a year's list.
    expect((await policyList(t.core.db, county, 2022, { publicOnly: false })).map((v) => v.code)).not.toContain('QH-02');
    expect((await policyList(t.core.db, county, 2028, { publicOnly: false })).map((v) => v.code)).not.toContain('JC-04');
    // A pending draft does not change the list until published.
    expect((await policyList(t.core.db, county, 2027, { publicOnly: true })).find((v) => v.code === 'QH-01')!.tiers[0]!.standardFen).toBe(50_00);
  });

  it('lets a department edit only its own policies, and keeps every earlier version', async () => {
    t = await createSeededDb();
    const civil = await actorFor(t, 'dept_civil');
    const agri = await actorFor(t, 'dept_agri');
    const { itemId: id } = await createPolicy(t.core, civil, { ...input, code: 'QH-09' });
    await expect(savePolicyDraft(t.core, agri, id, { ...input, revision: 1 })).rejects.toThrow(ForbiddenError);
    await expect(savePolicyDraft(t.core, civil, await itemId(t, 'JC-09'), { ...input, revision: null })).rejects.toThrow('只有该补贴项目的主管部门可以修改它');
    await expect(createPolicy(t.core, civil, { ...input, code: 'QH-09' })).rejects.toThrow(ValidationError);
    // A stale form cannot overwrite a newer save of the same draft.
    await savePolicyDraft(t.core, civil, id, { ...input, name: '改名一', revision: 1 });
    await expect(savePolicyDraft(t.core, civil, id, { ...input, name: '改名二', revision: 1 })).rejects.toThrow(ConflictError);
    expect((await policyVersions(t.core.db, id))[0]!.name).toBe('改名一');
  });

  it('publishes only through another person of the finance section of the setting region (four-eyes), with audit rows', async () => {
    t = await createSeededDb();
    const civil = await actorFor(t, 'dept_civil');
    const finance = await actorFor(t, 'finance');
    const { itemId: id, versionId } = await createPolicy(t.core, civil, { ...input, code: 'QH-10' });
    await expect(publishPolicyVersion(t.core, await actorFor(t, 'treasury'), versionId, 1)).rejects.toThrow(ForbiddenError);
    // Somebody who holds both roles still cannot publish their own edit.
    const both = { ...civil, roles: [...civil.roles, 'finance_section' as const], regionId: finance.regionId };
    await expect(publishPolicyVersion(t.core, both, versionId, 1)).rejects.toThrow('四眼原则');
    await returnPolicyVersion(t.core, finance, versionId, 1, '文号有误');
    expect((await policyVersions(t.core.db, id))[0]).toMatchObject({ state: 'returned', returnReason: '文号有误' });
    await savePolicyDraft(t.core, civil, id, { ...input, legalBasisNumber: '青卫发〔2026〕2号', revision: 1 });
    await expect(publishPolicyVersion(t.core, finance, versionId, 1)).rejects.toThrow(ConflictError); // stale revision
    await publishPolicyVersion(t.core, finance, versionId, 2);
    await expect(publishPolicyVersion(t.core, finance, versionId, 2)).rejects.toThrow(ConflictError);
    expect((await auditRows(t.core)).map((r) => r.action).filter((a) => a.startsWith('policy.'))).toEqual(['policy.create', 'policy.return', 'policy.draft.save', 'policy.publish']);

    // An adjustment is a new version from a later year; the published one stays as it was.
    await expect(savePolicyDraft(t.core, civil, id, { ...input, effectiveYear: 2025, revision: null })).rejects.toThrow(ValidationError);
    await savePolicyDraft(t.core, civil, id, { ...input, tiers: [{ name: '标准', standardFen: fen(150_00) }], effectiveYear: 2027, revision: null });
    const versions = await policyVersions(t.core.db, id);
    expect(versions.map((v) => [v.versionNo, v.state, v.tiers[0]!.standardFen])).toEqual([[2, 'draft', 15000], [1, 'published', 12000]]);
  });

  it('records budget allocations per county, policy and year, once per document, summed in fen', async () => {
    t = await createSeededDb();
    const finance = await actorFor(t, 'finance');
    const id = await itemId(t, 'JC-13');
    expect(await allocatedFen(t.core.db, finance.regionId, id, 2026)).toBe(140_000_00);
    const doc = { itemId: id, year: 2026, amountFen: fen(12_345_67), docNumber: '青财农〔2026〕99号', docTitle: '追加下达', docDate: '2026-06-01' };
    await recordAllocation(t.core, finance, doc);
    expect(await allocatedFen(t.core.db, finance.regionId, id, 2026)).toBe(140_000_00 + 12_345_67);
    await expect(recordAllocation(t.core, finance, doc)).rejects.toMatchObject({ fieldErrors: { docNumber: '2026 年已登记过文号为“青财农〔2026〕99号”的指标' } });
    await expect(recordAllocation(t.core, await actorFor(t, 'dept_agri'), doc)).rejects.toThrow(ForbiddenError);
    expect(await allocatedFen(t.core.db, finance.regionId, id, 2025)).toBe(0);
  });
});
