import { z } from 'zod';
import { businessDate, checkbox, id, optional, text, version } from '../../core/fields.ts';
import { RELATIONS } from './model.ts';

/**
 * The forms of the registry's life events (life-events.ts): a move (registered by the receiving station, on the
 * person's page for a move inside the township or after a search by ID number for one from elsewhere), a change of
 * household head, a death, and the township finance office's decision. ID numbers are checked by the commands
 * with parseIdNumber, as everywhere in the registry.
 */
const relation = (label: string) => z.enum(Object.keys(RELATIONS) as [keyof typeof RELATIONS], { error: `请选择${label}` });
const evidence = text('证明材料', 80);
const reason = optional(text('说明', 200));

/** A move: where to, in which household (a new one with the person as head, or the household of a head given by ID number), when, on what document. */
export const moveSchema = z
  .object({
    toVillageId: id('迁入的村（社区）'),
    relation: relation('在新户中的关系'),
    headIdNumber: optional(z.string().trim()),
    wholeHousehold: checkbox,
    eventDate: businessDate('迁移日期', { notAfterToday: true }),
    evidence,
    reason,
  })
  .superRefine((v, ctx) => {
    if (!v.wholeHousehold && v.relation !== 'head' && !v.headIdNumber) ctx.addIssue({ code: 'custom', path: ['headIdNumber'], message: '加入迁入地已登记的户时，请填写该户户主的身份证号码；自立一户的，关系请选“户主”' });
  });

/** A move in from another township or county: the moving person's ID number travels with the form (never in a URL). */
export const moveInSchema = moveSchema.and(z.object({ idNumber: z.string({ error: '请填写身份证号码' }) }));

/** The person becomes their household's head; the former head's relation to them from now on. */
export const headChangeSchema = z.object({
  formerHeadRelation: relation('原户主与新户主的关系'),
  eventDate: businessDate('变更日期', { notAfterToday: true }),
  evidence,
  reason,
});

export const deathSchema = z.object({
  eventDate: businessDate('死亡日期', { notAfterToday: true }),
  evidence,
  reason,
});

/** The township finance office's decision; a refusal says why, so that the station can put it right. */
export const lifeEventDecisionSchema = z
  .object({
    decision: z.enum(['confirm', 'refuse'], { error: '请选择确认或退回' }),
    note: optional(text('意见', 200)),
    version,
  })
  .superRefine((v, ctx) => {
    if (v.decision === 'refuse' && !v.note) ctx.addIssue({ code: 'custom', path: ['note'], message: '退回时请写明原因，以便经办站所改正' });
  });

export const moveInSearchSchema = z.object({ idNumber: z.string({ error: '请填写身份证号码' }) });
