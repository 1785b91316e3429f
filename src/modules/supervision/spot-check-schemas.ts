import { z } from 'zod';
import { businessDate, id, optional, page, text, yuan } from '../../core/fields.ts';
import { ROUND_STATES, type RoundState } from '../batch/index.ts';
import { SEED_PATTERN } from './draw.ts';

export const PHASES = { before: '事前抽查（下达前）', during: '事中抽查（下达后、发放前）', after: '事后抽查（发放后）' } as const;
export type Phase = keyof typeof PHASES;

/**
 * The phase a round's state allows (the one rule, docs/supervision.md): 事前 while the round is compiled or awaits the
 * finance section's review, 事中 once released to the bank and not yet paid, 事后 once paid.
 */
export const PHASE_OF_ROUND_STATE: Record<RoundState, Phase> = { compiling: 'before', submitted: 'before', released: 'during', transferred: 'after' };

/** Why a phase does not fit the round's state (the message on the `phase` field), or null when it fits. */
export function phaseMismatch(phase: Phase, state: RoundState): string | null {
  const fits = PHASE_OF_ROUND_STATE[state];
  return fits === phase ? null : `所选批次的状态为“${ROUND_STATES[state]}”，不能做${PHASES[phase]}，应选择${PHASES[fits]}`;
}

/** The rule in words, for the hint beside the phase select. */
export const PHASE_HINT = (Object.keys(PHASES) as Phase[])
  .map((phase) => `${PHASES[phase]}：批次${(Object.keys(PHASE_OF_ROUND_STATE) as RoundState[]).filter((s) => PHASE_OF_ROUND_STATE[s] === phase).map((s) => `“${ROUND_STATES[s]}”`).join('或')}`)
  .join('；')
  .concat('。抽取范围为同一补贴项目、同一期间的全部批次时，按所选批次的状态判断。');

/** What is drawn: lines (发放明细), or the people of those lines (补贴对象, each represented by their first line in scope). */
export const UNITS = { line: '发放明细', person: '补贴对象（人）' } as const;
export type Unit = keyof typeof UNITS;
export const OUTCOMES = { confirmed: '属实', false: '不属实', unverifiable: '无法核实' } as const;
export type Outcome = keyof typeof OUTCOMES;
export const FINDING_STATES = { open: '待答复', answered: '已答复，待办结', closed: '已办结' } as const;
export const FINDING_SOURCES = { spot_check: '抽查', screening: '筛查比对', complaint: '投诉举报' } as const;
export const CONCLUSIONS = { no_problem: '经核查无问题', corrected: '已整改', recover: '追回资金', referred: '移送处理' } as const;
export type Conclusion = keyof typeof CONCLUSIONS;

const choice = <T extends Record<string, string>>(choices: T, label: string) =>
  z.string({ error: `请选择${label}` }).refine((v): v is Extract<keyof T, string> => Object.hasOwn(choices, v), { error: `请选择${label}` }) as unknown as z.ZodType<Extract<keyof T, string>>;

export const SCOPES = { round: '该批次的全部明细', village: '该批次中一个村（社区）的明细', policy: '同一补贴项目、同一期间的全部批次（含补发）' } as const;
export type Scope = keyof typeof SCOPES;

export const drawSchema = z.object({
  roundId: id('发放批次'),
  scope: choice(SCOPES, '抽取范围'),
  villageId: optional(id('村（社区）')),
  unit: choice(UNITS, '抽取对象'),
  phase: choice(PHASES, '抽查阶段'),
  size: z.coerce.number({ error: '请填写抽取数量' }).int({ error: '抽取数量应为整数' }).min(1, { error: '抽取数量至少为 1' }).max(500, { error: '抽取数量不能超过 500' }),
  seed: optional(
    z
      .string()
      .trim()
      .transform((s) => s.toLowerCase())
      .refine((s) => SEED_PATTERN.test(s), { error: '随机种子应为 8 到 64 位数字或 a–f 字母（如公开开奖号码）；留空则由系统随机生成' }),
  ),
}).superRefine((v, ctx) => {
  if (v.scope === 'village' && v.villageId === null) ctx.addIssue({ code: 'custom', path: ['villageId'], message: '抽取范围为一个村（社区）时，请选择村（社区）' });
});
export type DrawInput = z.infer<typeof drawSchema>;

export const visitSchema = z.object({
  visitedOn: businessDate('走访日期', { notAfterToday: true }),
  visitor: text('走访人', 60),
  outcome: choice(OUTCOMES, '核实结果'),
  note: text('核实情况', 1000),
});
export type VisitInput = z.infer<typeof visitSchema>;

export const answerSchema = z.object({ answer: text('答复内容', 2000) });

/** Closing: a conclusion, and for 追回资金 the amount to recover (元 typed, integer fen kept; core/fields.ts yuan). */
export const closeSchema = z
  .object({
    conclusion: choice(CONCLUSIONS, '办结结论'),
    amount: optional(z.string()),
    note: text('办结说明', 1000),
  })
  .transform((v, ctx) => {
    if (v.conclusion !== 'recover') return { conclusion: v.conclusion, note: v.note, recoverFen: null };
    const parsed = yuan('应追回金额').safeParse(v.amount ?? '');
    if (!parsed.success || parsed.data <= 0) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: parsed.success ? '应追回金额应大于 0' : parsed.error.issues[0]!.message });
      return z.NEVER;
    }
    return { conclusion: v.conclusion, note: v.note, recoverFen: parsed.data };
  });
export type CloseInput = z.infer<typeof closeSchema>;

export const findingFilters = z.object({
  state: optional(choice(FINDING_STATES, '状态')),
  source: optional(choice(FINDING_SOURCES, '来源')),
  page,
});
