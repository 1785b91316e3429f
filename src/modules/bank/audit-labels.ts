import { type AuditAction, type AuditSummary, type AuditVocabulary, clauses } from '../../core/audit-vocabulary.ts';
import { exportAuditAction } from '../../core/lists.ts';
import { maskName } from '../../core/mask.ts';
import { DIFFERENCE_KINDS, FAILURE_STATES } from './model.ts';
import { PAYOUT_FORMATS } from './payout.ts';
import { FAILURE_TRANSITIONS } from './policy.ts';

const FORMAT_LABELS: Record<string, string> = Object.fromEntries(PAYOUT_FORMATS.map((f) => [f.code, f.label]));
const NOTICE_CHANNEL_LABELS: Record<string, string> = { file: '告知文件', api: '接口' };
const PARTIES: Record<string, string> = { finance_section: '财政局业务科室', department: '主管部门', bank: '代发金融机构' };

const money = (s: AuditSummary, lines: string) => `${s.count(lines)} 笔，${s.yuan('amountFen')}`;

/** A step on one failed payment (FAILURE_TRANSITIONS, policy.ts; taken in failures.ts). */
function failureStep(label: string): AuditAction {
  return {
    label: `发放失败：${label}`,
    sentence: (s) => clauses(`由“${s.choice('from', FAILURE_STATES)}”转为“${s.choice('to', FAILURE_STATES)}”`, s.ref('round', 'round') && `批次为${s.ref('round', 'round')}`, s.has('note') && `说明：${s.text('note')}`),
  };
}

/** How the audit log reads the bank module's actions (see core/audit-vocabulary.ts). */
export const bankAuditVocabulary: AuditVocabulary = {
  name: 'bank',
  title: '代发与资金',
  actions: {
    'bank.budget.vouchers': {
      label: '导出支付凭证（预算管理一体化）',
      sentence: (s) => clauses(`${s.text('county')} ${s.text('from')} 至 ${s.text('to')}`, `${s.count('rows')} 条，${s.yuan('amountFen')}`, s.text('format') === 'json' ? '经接口' : 'CSV 文件'),
    },
    'bank.budget.plans': {
      label: '导出用款计划（预算管理一体化）',
      sentence: (s) => clauses(`${s.text('county')} ${s.text('year')} 年`, `${s.count('rows')} 个批次，计划 ${s.yuan('amountFen')}`, s.text('format') === 'json' ? '经接口' : 'CSV 文件'),
    },
    'bank.payout.download': {
      label: '下载代发文件',
      sentence: (s) => clauses(`${s.choice('format', FORMAT_LABELS)}格式${s.has('supplement') ? `，第 ${s.text('supplement')} 个补充代发文件` : ''}`, `${s.count('lines')} 笔，${s.yuan('totalFen')}`, s.has('encryptedFor') && `以银行公钥 ${s.text('encryptedFor').slice(0, 16)}… 加密`),
    },
    'bank.results.import': {
      label: '导入银行回盘',
      sentence: (s) => clauses(`“${s.text('file')}”${s.count('rows')} 行`, `到账 ${s.count('paid')} 笔`, `失败 ${s.count('failed')} 笔`, s.count('unchanged') > 0 && `此前已导入 ${s.count('unchanged')} 笔`, s.has('signedBy') && `银行签名已验（公钥 ${s.text('signedBy').slice(0, 16)}…）`),
    },
    ...Object.fromEntries(Object.entries(FAILURE_TRANSITIONS).map(([action, t]) => [`bank.failure.${action}`, failureStep(t.label)])),
    // A reissue request's verification is written apart from the correction's (failures.ts).
    'bank.failure.verify_reissue': failureStep('核实补发申请'),
    'bank.failures.export': exportAuditAction('发放失败：导出明细'),
    'bank.failure.corrections_import': {
      label: '发放失败：财政所导入修正信息',
      sentence: (s) => clauses(`“${s.text('file')}”`, `${s.count('lines')} 笔转主管部门核实`),
    },
    'bank.supplement.create': {
      label: '复核通过，生成补充代发文件',
      sentence: (s) => clauses(`第 ${s.text('seq')} 个补充代发文件`, money(s, 'lines'), s.has('needsTransfer') && '其中退回原账户的资金待国库再次拨付'),
    },
    'bank.supplement.transfer': { label: '再次拨付资金', sentence: (s) => clauses(`补充代发 ${s.yuan('amountFen')}`, `凭证 ${s.text('voucherNo')}`) },
    'bank.refund': { label: '登记银行退回资金', sentence: (s) => clauses(`${s.text('refundedOn')} 退回原账户`, money(s, 'lines'), `凭证 ${s.text('voucherNo')}`) },
    'bank.treasury_return': { label: '登记暂缴回财政', sentence: (s) => clauses(`${s.text('returnedOn')} 缴回`, money(s, 'lines'), `缴款凭证 ${s.text('voucherNo')}`) },
    'bank.reissue.compile': { label: '编入补发批次', sentence: (s) => `${s.count('lines')} 笔补发编入${s.ref('round', 'reissueRound')}` },
    'bank.reconciliation.open': { label: '建立季度对账', sentence: (s) => `${s.text('quarter')} 对账` },
    'bank.reconciliation.confirm': {
      label: '上传对账确认',
      sentence: (s) => clauses(`“${s.text('source')}”${s.count('rows')} 行`, `差异 ${s.count('differences')} 处`, s.count('signaturesWithdrawn') > 0 && `已撤回 ${s.count('signaturesWithdrawn')} 个签字，须重新签字`),
    },
    'bank.reconciliation.resolve': { label: '处理对账差异', sentence: (s) => clauses(`差异 #${s.text('diff')}（${s.choice('kind', DIFFERENCE_KINDS) || '差异'}）`, `处理：${s.text('resolution')}`) },
    'bank.reconciliation.sign': { label: '对账签字', sentence: (s) => clauses(`${s.choice('party', PARTIES)}签字`, s.has('complete') && '各方均已签字，对账完成') },
    'bank.clearing.open': {
      label: '年末清算：开启',
      sentence: (s) => clauses(`${s.text('year')} 年度`, s.has('reopened') && '重新开启（各方须重新确认）', `${s.count('policies')} 个补贴项目`, `${s.count('parties')} 方确认`, `结余收回财政 ${s.yuan('clearedFen')}`),
    },
    'bank.clearing.confirm': { label: '年末清算：确认', sentence: (s) => clauses(`${s.text('year')} 年度`, `${s.choice('party', PARTIES)}确认`) },
    'bank.clearing.dispute': { label: '年末清算：提出异议', sentence: (s) => clauses(`${s.text('year')} 年度`, `${s.choice('party', PARTIES)}提出异议`, `理由：${s.text('reason')}`) },
    'bank.clearing': {
      label: '年末清算：最终确认',
      sentence: (s) => clauses(`${s.text('year')} 年度`, `待决定的 ${s.count('awaitingReturned')} 笔缴回财政`, `清算 ${s.yuan('clearedFen')}`, `缴款凭证 ${s.text('voucherNo')}`),
    },
    'bank.card_request.send': {
      label: '发送开卡申请',
      sentence: (s) => clauses(`无发放账户 ${s.count('noAccount')} 人`, `挂失补卡 ${s.count('lostCard')} 人`, s.count('notOnCard') > 0 && `未使用社保卡发放、申请办理社保卡 ${s.count('notOnCard')} 人`),
    },
    'bank.not_on_card.export': exportAuditAction('导出未使用社保卡发放人员名单'),
    'bank.card_request.download': { label: '下载开卡名单', sentence: (s) => clauses(`${s.count('lines')} 人（含完整身份证号）`, s.has('encryptedFor') && `以银行公钥 ${s.text('encryptedFor').slice(0, 16)}… 加密`) },
    'bank.card_request.answer': { label: '上传开卡结果', sentence: (s) => clauses(`“${s.text('file')}”`, `已开卡 ${s.count('opened')} 人`, `未开卡 ${s.count('notOpened')} 人`, s.has('signedBy') && `银行签名已验（公钥 ${s.text('signedBy').slice(0, 16)}…）`) },
    'bank.account_check.request': { label: '发送账户核验', sentence: (s) => clauses(`第 ${s.text('check')} 次核验`, `交${s.text('bank')}`, `${s.count('lines')} 笔`) },
    'bank.account_check.download': { label: '下载账户核验名单', sentence: (s) => clauses(`${s.count('lines')} 笔（含完整身份证号和账号）`, s.has('encryptedFor') && `以银行公钥 ${s.text('encryptedFor').slice(0, 16)}… 加密`) },
    'bank.account_check.answer': {
      label: '上传账户核验结果',
      sentence: (s) => clauses(`“${s.text('file')}”`, `一致 ${s.count('verified')} 笔`, `有误 ${s.count('wrong')} 笔`, s.has('signedBy') && `银行签名已验（公钥 ${s.text('signedBy').slice(0, 16)}…）`),
    },
    'bank.receipt.upload': { label: '上传发放完成回执', sentence: (s) => `“${s.text('file')}”` },
    'bank.notices.fetch': {
      label: '获取补贴发放告知',
      sentence: (s) => clauses(`经${s.choice('channel', NOTICE_CHANNEL_LABELS)}获取 ${s.count('notices')} 条`, `其中新交银行 ${s.count('fresh')} 条`),
    },
    'bank.notices.confirm': {
      label: '回传告知发送结果',
      sentence: (s) => clauses(`经${s.choice('channel', NOTICE_CHANNEL_LABELS)}“${s.text('file')}”${s.count('rows')} 行`, `已发送 ${s.count('sent')} 条`, `失败 ${s.count('failed')} 条`, s.count('unchanged') > 0 && `此前已回传 ${s.count('unchanged')} 条`, s.has('signedBy') && `银行签名已验（公钥 ${s.text('signedBy').slice(0, 16)}…）`),
    },
  },
  objects: {
    bank_failure: {
      label: '发放失败',
      names: async (db, ids) =>
        new Map((await db('bank_failure').whereIn('id', ids.map(Number)).select('id', 'round_title', 'person_name')).map((f) => [String(f.id), `“${f.round_title}”${maskName(f.person_name)}`])),
    },
    bank_failure_group: { label: '一组发放失败' },
    bank_refund: { label: '银行退回资金', names: async (db, ids) => new Map((await db('bank_refund').whereIn('id', ids.map(Number)).select('id', 'voucher_no')).map((r) => [String(r.id), `凭证 ${r.voucher_no}`])) },
    reconciliation: {
      label: '对账',
      names: async (db, ids) =>
        new Map(
          (await db('bank_reconciliation as r').join('core_org as b', 'b.id', 'r.bank_org_id').whereIn('r.id', ids.map(Number)).select('r.id', 'r.quarter', 'b.name')).map((r) => [String(r.id), `${r.name} ${r.quarter}`]),
        ),
    },
    clearing_draft: { label: '年末清算（确认中）', names: async (db, ids) => new Map((await db('bank_clearing_draft').whereIn('id', ids.map(Number)).select('id', 'year')).map((c) => [String(c.id), `${c.year} 年度`])) },
    clearing: { label: '年末清算', names: async (db, ids) => new Map((await db('bank_clearing').whereIn('id', ids.map(Number)).select('id', 'year')).map((c) => [String(c.id), `${c.year} 年度`])) },
    card_request: { label: '开卡申请' },
    account_check: { label: '账户核验' },
    bank_org: { label: '代发金融机构', names: async (db, ids) => new Map((await db('core_org').whereIn('id', ids.map(Number)).select('id', 'name')).map((o) => [String(o.id), o.name])) },
  },
};
