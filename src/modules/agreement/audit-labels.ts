import { type AuditVocabulary, changes, clauses } from '../../core/audit-vocabulary.ts';

/** The terms an edit may change, as the audit log names them. */
const EDITABLE_TERMS = {
  branch: '承办网点',
  settlementAccountName: '资金清算账户名称',
  procurementProjectNo: '政府采购项目编号',
  procurementMethod: '政府采购方式',
  termPayment: '资金支付要求',
  termNotice: '补贴通知要求',
  termWithdrawal: '便捷取款要求',
  termDataSecurity: '数据安全要求',
  freeSms: '免费短信告知',
  noticeChannel: '短信告知渠道',
  freeWithdrawal: '免费取款',
  dataSecurityPledged: '数据安全承诺',
};

/** How the audit log reads the agreement module's actions (see core/audit-vocabulary.ts). */
export const agreementAuditVocabulary: AuditVocabulary = {
  name: 'agreement',
  title: '代发协议',
  actions: {
    'agreement.record': {
      label: '登记代发协议',
      sentence: (s) => clauses(`${s.text('bank')}协议 ${s.text('agreementNo')}`, `期限 ${s.text('term').replace('~', ' 至 ')}`, `服务乡镇 ${s.count('townships')} 个`),
    },
    'agreement.edit': {
      label: '修改代发协议条款',
      sentence: (s) => changes(s.part('before'), s.part('after'), EDITABLE_TERMS) || '内容未改变',
    },
    'agreement.extend': {
      label: '代发协议延期',
      sentence: (s) => clauses(`结束日期由 ${s.text('from')} 延至 ${s.text('to')}`, `依据 ${s.text('documentNo')}`),
    },
    'agreement.terminate': {
      label: '终止代发协议',
      sentence: (s) => clauses(`自 ${s.text('terminatedOn')} 起终止`, `原因：${s.text('reason')}`),
    },
    'agreement.breach': {
      label: '登记代发银行违约',
      sentence: (s) => clauses(`${s.text('occurredOn')} ${s.text('what')}`, `处理：${s.text('measure')}`),
    },
    'agreement.bank_key': {
      label: '登记银行公钥与签名、加密要求',
      sentence: (s) => changes(s.part('before'), s.part('after'), { key: '银行公钥指纹', requireBankSignature: '要求银行签名', encryptFiles: '加密代发文件' }) || '内容未改变',
    },
    'agreement.account.seal': {
      label: '加密保存资金清算账号',
      sentence: (s) => `服务启动时将 ${s.count('agreements')} 份代发协议此前明文保存的资金清算账号改为加密保存`,
    },
  },
  objects: {
    agreement: {
      label: '代发协议',
      names: async (db, ids) =>
        new Map((await db('agreement_contract as a').join('core_org as b', 'b.id', 'a.bank_org_id').whereIn('a.id', ids.map(Number)).select('a.id', 'a.agreement_no', 'b.name')).map((a) => [String(a.id), `${a.name} ${a.agreement_no}`])),
    },
  },
};
