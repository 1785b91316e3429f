import { type AuditVocabulary, clauses } from '../../core/audit-vocabulary.ts';

/** How the audit log reads the agreement module's actions (see core/audit-vocabulary.ts). */
export const agreementAuditVocabulary: AuditVocabulary = {
  name: 'agreement',
  title: '代发协议',
  actions: {
    'agreement.record': {
      label: '登记代发协议',
      sentence: (s) => clauses(`${s.text('bank')}协议 ${s.text('agreementNo')}`, `期限 ${s.text('term').replace('~', ' 至 ')}`, `服务乡镇 ${s.count('townships')} 个`),
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
