import { type Tx, insertReturningId, nowIso } from '../src/core/db.ts';

/**
 * The demo county's reference data (一项机制助审核), as if loaded by the finance section: a police death list that
 * names two people the registry still has as 在册 (the batch checks must find them) and one already recorded,
 * a 民政 roster of people in 城乡低保, and a roster of public employees, two of whom are also on the 低保 roster.
 * Only hits on registered people are kept, as a real load keeps them.
 */
export async function seedDemoReference(trx: Tx, at: { countyId: number; financeUserId: number }): Promise<void> {
  // 城关镇 (where the demo's station and finance office work) first, so that their rosters meet the marks.
  const people: { id: number; name: string; status: string; relation: string }[] = await trx('beneficiary_person as p')
    .join('core_region as v', 'v.id', 'p.village_id')
    .join('core_region as t', 't.id', 'v.parent_id')
    .orderByRaw("case when t.name = '城关镇' then 0 else 1 end")
    .orderBy('p.id')
    .select('p.id', 'p.name', 'p.status', 'p.relation');
  const active = people.filter((p) => p.status === 'active');
  const deceased = people.filter((p) => p.status === 'deceased');
  const activeHeads = active.filter((p) => p.relation === 'head');
  const snapshot = async (source: string, takenOn: string, fileName: string, rows: number, hits: { person: { id: number }; kind: string; date: string | null; detail: string }[]) => {
    const snapshotId = await insertReturningId(trx, 'beneficiary_reference_snapshot', {
      source,
      taken_on: takenOn,
      file_name: fileName,
      rows,
      matched: hits.length,
      loaded_by: at.financeUserId,
      loaded_at: nowIso(),
      region_id: at.countyId,
      channel: 'file',
    });
    for (const h of hits) await trx('beneficiary_reference_hit').insert({ snapshot_id: snapshotId, person_id: h.person.id, kind: h.kind, event_date: h.date, detail: h.detail });
  };
  await snapshot('police_death', '2026-10-31', '公安死亡人员（演示）.xlsx', 41, [
    { person: active[17]!, kind: 'deceased', date: '2026-09-12', detail: '' },
    { person: active[40]!, kind: 'deceased', date: '2026-10-05', detail: '' },
    ...deceased.slice(0, 1).map((p) => ({ person: p, kind: 'deceased', date: '2026-06-20', detail: '' })),
  ]);
  const dibao = activeHeads.filter((_, i) => i % 13 === 5).slice(0, 20);
  await snapshot('civil_program', '2026-09-30', '民政在保对象（演示）.xlsx', 1_260, dibao.map((p) => ({ person: p, kind: 'other_program', date: '2024-01-01', detail: '城乡低保' })));
  const employees = [...dibao.slice(0, 2), ...active.filter((_, i) => i % 211 === 7 && !dibao.includes(active[i]!)).slice(0, 3)];
  await snapshot('public_employee', '2026-06-30', '财政供养人员（演示）.xlsx', 3_480, employees.map((p) => ({ person: p, kind: 'public_employee', date: null, detail: '青禾县某事业单位' })));
}
