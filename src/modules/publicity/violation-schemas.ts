import { z } from 'zod';
import { businessDate, id, optional, reason, text, yuan } from '../../core/fields.ts';

/** The least a statement of facts says: where, who (masked), what, how much. */
export const FACTS_MIN = 20;
export const FACTS_MAX = 2000;

/**
 * The supervisor's form to publish a violation (违规问题曝光, Chongqing 七): where (a township or village of their
 * region, or the county), the policy if one, the title, the facts (masked names only), the amounts involved and
 * recovered (元 → fen), the handling result and the decision document. Messages in Chinese, keyed by field.
 */
export const violationSchema = z
  .object({
    regionId: id('发生地（县、乡镇或村）'),
    itemId: optional(id('补贴项目')),
    title: text('标题', 100),
    facts: text('基本事实', FACTS_MAX).refine((v) => [...v].length >= FACTS_MIN, { message: `基本事实至少写 ${FACTS_MIN} 个字：写明何时、何地、何人（隐去姓名中间的字）、虚报冒领等何种问题、涉及金额` }),
    involved: yuan('涉及金额'),
    recovered: yuan('已追回金额'),
    handling: text('处理结果', 500),
    docNumber: text('处理决定文号', 60),
    docDate: businessDate('处理决定日期', { notAfterToday: true }),
  })
  .superRefine((v, ctx) => {
    if (v.recovered > v.involved) ctx.addIssue({ code: 'custom', path: ['recovered'], message: '已追回金额不能超过涉及金额' });
  });
export type ViolationInput = z.infer<typeof violationSchema>;

/** Money recovered for a violation: the date, the amount (元 → fen, more than zero) and the document. */
export const recoverySchema = z
  .object({
    recoveredOn: businessDate('追回日期', { notAfterToday: true }),
    amount: yuan('追回金额'),
    recoveryDoc: text('追回凭证号', 60),
  })
  .superRefine((v, ctx) => {
    if (v.amount <= 0) ctx.addIssue({ code: 'custom', path: ['amount'], message: '追回金额应大于 0' });
  });

/** Withdrawing a published violation: the reason, required. */
export const withdrawViolationSchema = z.object({ reason: reason('撤回原因') });
