import { afterEach, describe, expect, it } from 'vitest';
import { fen } from '../../src/core/money.ts';
import { addLine, checkRoster, createRound } from '../../src/modules/batch/commands.ts';
import { createPolicy, publishPolicyVersion } from '../../src/modules/policy/commands.ts';
import { policyVersions } from '../../src/modules/policy/queries.ts';
import { up as markPoliciesFromRounds } from '../../migrations/20261205182100_policy_means_tested_from_rounds.ts';
import { TEST_DB, type TestDb, actorFor, createSeededDb, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const policy = {
  legalBasisTitle: '青禾县生活救助办法',
  legalBasisNumber: '青民发〔2026〕3号',
  payee: 'person' as const,
  frequency: 'yearly' as const,
  unit: '人',
  tiers: [{ name: '标准', standardFen: fen(500_00) }],
  fromYear: 2026,
  toYear: null,
  effectiveYear: 2026,
  confidential: false,
  emergencyRelief: false,
  exclusiveGroups: [],
  changeNote: null,
};

describe(`means-tested policies (救助类) (${TEST_DB})`, () => {
  it('runs the public-employee check on the rounds of a policy published as 救助类, and not on those of another, with nothing to tick when the round is opened', async () => {
    t = await createSeededDb({}, { people: true });
    const civil = await actorFor(t, 'dept_civil');
    const finance = await actorFor(t, 'finance');
    const station = await actorFor(t, 'station1');
    const office = await actorFor(t, 'finance1');
    // A public employee of 城关镇, on the finance data's current list.
    const township = await regionId(t, '城关镇');
    const employee = await t.core
      .db('beneficiary_reference_hit as h')
      .join('beneficiary_person as p', 'p.id', 'h.person_id')
      .join('core_region as v', 'v.id', 'p.village_id')
      .where({ 'h.kind': 'public_employee', 'p.status': 'active', 'v.parent_id': township })
      .first('p.id_enc');
    const idNumber = t.core.crypto.decrypt(employee.id_enc);

    const roundOf = async (code: string, meansTested: boolean) => {
      const { itemId, versionId } = await createPolicy(t!.core, civil, { ...policy, code, name: `青禾县生活救助${code}`, meansTested });
      await publishPolicyVersion(t!.core, finance, versionId, 1);
      expect((await policyVersions(t!.core.db, itemId))[0]!.meansTested).toBe(meansTested);
      const roundId = await createRound(t!.core, civil, { policyItemId: itemId, period: '2026' });
      const roster = await t!.core.db('batch_roster').where({ round_id: roundId, township_id: township }).first('id');
      const lineId = await addLine(t!.core, station, Number(roster.id), { idNumber, tierName: null, quantity: '1' });
      await checkRoster(t!.core, office, Number(roster.id));
      const rules = await t!.core.db('batch_finding').where({ roster_id: roster.id, line_id: lineId, state: 'open' }).pluck('rule');
      const round = await t!.core.db('batch_round').where({ id: roundId }).first('means_tested');
      return { rules, meansTested: Boolean(round.means_tested) };
    };

    const relief = await roundOf('QH-31', true);
    expect(relief).toMatchObject({ meansTested: true });
    expect(relief.rules).toContain('public-employee');
    const other = await roundOf('QH-32', false);
    expect(other).toMatchObject({ meansTested: false });
    expect(other.rules).not.toContain('public-employee');
  });

  it('marks, when migrating, every version of a policy one of whose rounds was opened as means-tested, and no other', async () => {
    t = await createSeededDb({}, { people: true });
    const db = t.core.db;
    const codes = () => db('policy_version as v').join('policy_item as i', 'i.id', 'v.item_id').where('v.means_tested', true).distinct('i.code').orderBy('i.code').pluck('i.code');
    // As a county's database stood before 救助类 was the policy's: the flag was the round's checkbox.
    await db('policy_version').update({ means_tested: false });
    await db('batch_round').update({ means_tested: false });
    const elderly = await db('policy_item').where({ code: 'JC-12' }).first('id');
    await db('batch_round').where({ policy_item_id: elderly.id, period: '2026-09' }).update({ means_tested: true });
    await markPoliciesFromRounds(db);
    expect(await codes()).toEqual(['JC-12']);
    expect(await db('policy_version').where({ item_id: elderly.id, means_tested: false }).first('id')).toBeUndefined();
  });

  it('marks the demo\'s 困难群众救助 policies 救助类 and leaves the others unmarked', async () => {
    t = await createSeededDb();
    const marked = await t.core.db('policy_version as v').join('policy_item as i', 'i.id', 'v.item_id').where('v.means_tested', true).distinct('i.code').orderBy('i.code').pluck('i.code');
    expect(marked).toEqual(['JC-09', 'JC-10', 'JC-11', 'JC-15', 'QH-03']);
  });
});
