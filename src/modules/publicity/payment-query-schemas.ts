import { z } from 'zod';
import { personName } from '../../core/fields.ts';
import { parseIdNumber } from '../beneficiary/index.ts';

/**
 * The portal's personal payment query (个人发放结果查询): name, ID number (checked and normalised as the registry
 * does: 18 characters with a valid check character, a 15-digit legacy number converted) and the last four digits
 * of the payout account as the second factor. Messages in Chinese, keyed by field.
 */
export const paymentQuerySchema = z.object({
  name: personName('姓名'),
  idNumber: z.string({ error: '请填写身份证号码' }).transform((typed, ctx) => {
    const parsed = parseIdNumber(typed);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.value.idNumber;
  }),
  last4: z
    .string({ error: '请填写发放账户后四位' })
    .trim()
    .refine((v) => v !== '', { message: '请填写发放账户后四位' })
    .refine((v) => v === '' || /^\d{4}$/.test(v), { message: '发放账户后四位应为 4 位数字（社保卡或银行卡、存折账号的最后四位）' }),
});

export type PaymentQueryInput = z.infer<typeof paymentQuerySchema>;
