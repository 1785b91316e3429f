import type { ModuleMove, MovedIds } from '../../core/county-move.ts';
import { selectInChunks } from '../../core/db.ts';
import { COMPLAINT_CODE_KEY } from './complaints.ts';
import { type SheetContent, sheetDigest } from './model.ts';

/** A sheet's content names its roster by id; its digest is of the content, so it is taken again. */
const movedContent = (value: string, ids: MovedIds): SheetContent => {
  const content = JSON.parse(value) as SheetContent;
  return { ...content, rosterId: ids.of('batch_roster', content.rosterId)! };
};

/**
 * How the publicity module's rows move to a central deployment (core/county-move.ts). The query codes of the county's
 * complaints were hashed with the county's own key, which travels with it (complaints.ts reads it for them). A
 * printed sheet keeps its code, which the portal's check opens; its content names the roster by its new id, so its
 * digest is taken again, and a sheet printed before the move shows the digest it had.
 */
export const publicityMove: ModuleMove = {
  purposeKeys: [COMPLAINT_CODE_KEY],
  // A sheet's code and a complaint's tracking number are unique in a deployment and printed or handed to citizens, so
  // they cannot be renumbered: one already taken by another county (a chance in millions) stops the move, named.
  async check({ source, target }) {
    const taken: string[] = [];
    for (const [table, column, what] of [['publicity_sheet', 'code', '公示表验证码'], ['publicity_complaint', 'tracking_no', '投诉举报受理编号']] as const) {
      const values = (await source(table).pluck(column)) as string[];
      const clash = await selectInChunks(values, (chunk) => target(table).whereIn(column, chunk).pluck(column) as Promise<string[]>);
      if (clash.length) taken.push(`${what} ${clash.join('、')} 已被中心部署中的其他县使用`);
    }
    return taken;
  },
  objectIds: { complaint: 'publicity_complaint' },
  tables: {
    publicity_complaint: {
      refs: {
        county_id: 'core_region',
        roster_id: 'batch_roster',
        objection_id: 'batch_objection',
        answered_by: 'core_user',
        entered_by: 'core_user',
        assignee_region_id: 'core_region',
        assigned_by: 'core_user',
        closed_by: 'core_user',
        assignee_org_id: 'core_org',
      },
    },
    publicity_notice: { refs: { county_id: 'core_region', township_id: 'core_region', roster_id: 'batch_roster', round_id: 'batch_round', published_by: 'core_user' } },
    publicity_posting: { refs: { notice_id: 'publicity_notice', village_id: 'core_region', recorded_by: 'core_user' } },
    publicity_sheet: {
      refs: { roster_id: 'batch_roster', county_id: 'core_region', village_id: 'core_region', created_by: 'core_user', notice_id: 'publicity_notice' },
      text: {
        content: (value, _row, ids) => JSON.stringify(movedContent(value, ids)),
        digest: (_value, row, ids) => sheetDigest(movedContent(String(row.content), ids)),
      },
    },
    publicity_violation: {
      refs: { county_id: 'core_region', township_id: 'core_region', village_id: 'core_region', policy_item_id: 'policy_item', published_by: 'core_user', withdrawn_by: 'core_user', approved_by: 'core_user' },
    },
    publicity_violation_recovery: { refs: { violation_id: 'publicity_violation', recorded_by: 'core_user' } },
    publicity_complaint_throttle: { skip: '门户的限流计数' },
    publicity_query_throttle: { skip: '门户的限流计数' },
  },
};
