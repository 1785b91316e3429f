import { z } from 'zod';
import { checkbox, id, idList, text } from '../../core/fields.ts';

/**
 * The form of an agreement, built from the shared fields (core/fields.ts); messages in Chinese, keyed by field. The
 * dates, the account number and the townships are checked by recordAgreement, with the rest of the form's errors.
 */
export const agreementSchema = z.object({
  bankOrgId: id('代发金融机构'),
  branch: text('承办网点', 80),
  agreementNo: text('协议编号', 60),
  startsOn: z.string({ error: '请填写开始日期' }).trim(),
  endsOn: z.string({ error: '请填写结束日期' }).trim(),
  settlementAccountName: text('资金清算账户名称', 80),
  settlementAccountNo: z.string({ error: '请填写资金清算账号' }).trim().transform((v) => v.replace(/\s/g, '')),
  freeSms: checkbox,
  freeWithdrawal: checkbox,
  townshipIds: idList('服务乡镇', { allowEmpty: true }),
});

export type AgreementInput = z.infer<typeof agreementSchema>;
