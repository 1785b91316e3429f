import { CountyMoveError, type ModuleMove, type MovedIds, moveJsonIds } from '../../core/county-move.ts';

/**
 * A finding's or hit's subject ('<rule>:<subject>', screening/*.ts; 'visit:<id>' for a spot check) with the ids in it
 * moved. The shared-account subject names an account by its index, not by an id (the key rotation maps it). A subject
 * of another form stops the move rather than be copied with stale ids.
 */
export function moveSubject(value: string, ids: MovedIds): string {
  const forms: [RegExp, (m: RegExpExecArray) => string][] = [
    [/(^|:)roster:(\d+)$/, (m) => `roster:${ids.of('batch_roster', m[2])}`],
    [/(^|:)visit:(\d+)$/, (m) => `visit:${ids.of('supervision_visit', m[2])}`],
    [/(^|:)person:(\d+)$/, (m) => `person:${ids.of('beneficiary_person', m[2])}`],
    // several-townships: person, policy item, year.
    [/(^|:)person:(\d+):(\d+):(\d{4})$/, (m) => `person:${ids.of('beneficiary_person', m[2])}:${ids.of('policy_item', m[3])}:${m[4]}`],
    // exclusive-policies: person, year, the first 12 hex digits of the group name's digest.
    [/(^|:)person:(\d+):(\d{4}):([0-9a-f]{12})$/, (m) => `person:${ids.of('beneficiary_person', m[2])}:${m[3]}:${m[4]}`],
    [/(^|:)village:(\d+):(\d+):([\d-]+)$/, (m) => `village:${ids.of('core_region', m[2])}:${ids.of('policy_item', m[3])}:${m[4]}`],
    [/(^|:)account:[0-9a-f]+$/, (m) => m[0].slice(m[1]!.length)],
  ];
  for (const [pattern, moved] of forms) {
    const m = pattern.exec(value);
    if (m) return `${value.slice(0, m.index + m[1]!.length)}${moved(m)}`;
  }
  throw new CountyMoveError(`问题线索的对象“${value}”形式无法识别，不知道其中的编号如何迁移。未做任何更改。`);
}

const subject = { source_ref: (value: string, _row: unknown, ids: MovedIds) => moveSubject(value, ids) };

/** A finding's evidence names its screening, lines, sample, item, round and visit by id (screenings.ts, spot-checks.ts). */
const evidence = moveJsonIds({ screening: 'supervision_screening', lines: 'batch_line', sample: 'supervision_sample', item: 'supervision_sample_item', line: 'batch_line', round: 'batch_round', visit: 'supervision_visit' });

/** How the supervision module's rows move to a central deployment (core/county-move.ts). */
export const supervisionMove: ModuleMove = {
  objectIds: { supervision_finding: 'supervision_finding' },
  // 答复问题线索 12（城关镇）: the finding's number as its page shows it.
  deadlineTitles: { supervision_finding: (title, ids) => title.replace(/^(答复问题线索 )(\d+)/, (_m, words: string, id: string) => `${words}${ids.of('supervision_finding', id)}`) },
  tables: {
    supervision_screening: { refs: { region_id: 'core_region', requested_by: 'core_user', previous_id: 'supervision_screening' }, paths: ['region_path'] },
    supervision_finding: {
      refs: { region_id: 'core_region', department_org_id: 'core_org', opened_by: 'core_user', answered_by: 'core_user', closed_by: 'core_user' },
      paths: ['region_path'],
      text: { ...subject, evidence_json: evidence },
    },
    supervision_screening_hit: { refs: { screening_id: 'supervision_screening', finding_id: 'supervision_finding' }, text: subject },
    // The population digest is of the ids at the draw: the offset is kept for the re-draw check (spot-checks.ts).
    supervision_sample: {
      refs: { county_id: 'core_region', round_id: 'batch_round', village_id: 'core_region', policy_item_id: 'policy_item', drawn_by: 'core_user' },
      paths: ['region_path'],
      text: { id_offset: (value, _row, ids) => String(Number(value) + ids.offset) },
    },
    supervision_sample_item: { refs: { sample_id: 'supervision_sample', line_id: 'batch_line', person_id: 'beneficiary_person', township_id: 'core_region', village_id: 'core_region' } },
    supervision_visit: { refs: { item_id: 'supervision_sample_item', finding_id: 'supervision_finding', recorded_by: 'core_user' } },
    supervision_export: { skip: '完整导出的文件在县的机器上：需要时在中心部署重新导出' },
  },
};
