import { type AuditSummary, type AuditVocabulary, changes, clauses } from '../../core/audit-vocabulary.ts';
import { exportAuditAction } from '../../core/lists.ts';
import { maskName } from '../../core/mask.ts';
import { RELATIONS } from './model.ts';
import { REFERENCE_SOURCES } from './reference.ts';

const SOURCE_LABELS: Record<string, string> = Object.fromEntries(Object.entries(REFERENCE_SOURCES).map(([code, s]) => [code, s.label]));

const LIFE_EVENT_LABELS = { move: '迁移', head_change: '户主变更', death: '死亡' };
const lifeEvent = (s: AuditSummary) => clauses(`${s.choice('kind', LIFE_EVENT_LABELS)}（事项 #${s.text('event')}）${s.text('name')}：${s.text('from')} → ${s.text('to')}`, s.has('date') && `日期 ${s.text('date')}`);

const change = (s: AuditSummary) => clauses(`变更申请 #${s.text('request')}`, s.text('change'));

function correction(s: AuditSummary): string {
  const before = s.part('before');
  const after = s.part('after');
  const relation = (p: AuditSummary) => p.with({ relation: p.choice('relation', RELATIONS) });
  const phone = before.text('phone') !== after.text('phone') && '联系电话已更改';
  return [changes(relation(before), relation(after), { name: '姓名', relation: '与户主关系' }), phone].filter(Boolean).join('；') || '内容未改变';
}

/** How the audit log reads the beneficiary module's actions (see core/audit-vocabulary.ts). */
export const beneficiaryAuditVocabulary: AuditVocabulary = {
  name: 'beneficiary',
  title: '受益对象',
  actions: {
    'beneficiary.register': {
      label: '登记受益对象',
      sentence: (s) =>
        clauses(`${s.text('village')}的 ${s.text('name')}（${s.choice('relation', RELATIONS) || '家庭成员'}）`, s.has('converted15') && '15 位身份证号已转换为 18 位', s.has('account') ? (s.has('accountPending') ? '同时登记了发放账户（待财政所确认）' : '同时登记了发放账户') : '未登记发放账户'),
    },
    'beneficiary.correct': { label: '更正受益对象信息', sentence: correction },
    'beneficiary.registry.export': exportAuditAction('导出受益对象档案'),
    'beneficiary.change.request': { label: '申请变更账户或状态', sentence: (s) => clauses(change(s), s.has('reason') && `原因：${s.text('reason')}`) },
    'beneficiary.change.confirm': { label: '确认账户或状态变更', sentence: (s) => clauses(change(s), s.has('note') && `意见：${s.text('note')}`) },
    'beneficiary.change.reject': { label: '驳回账户或状态变更', sentence: (s) => clauses(change(s), s.has('note') && `意见：${s.text('note')}`) },
    'beneficiary.life_event.register': { label: '登记迁移、户主变更或死亡', sentence: (s) => clauses(lifeEvent(s), s.has('evidence') && `证明材料：${s.text('evidence')}`) },
    'beneficiary.life_event.confirm': { label: '确认迁移、户主变更或死亡', sentence: (s) => clauses(lifeEvent(s), s.count('members') > 1 && `全户 ${s.count('members')} 人`, s.has('note') && `意见：${s.text('note')}`) },
    'beneficiary.life_event.refuse': { label: '退回迁移、户主变更或死亡登记', sentence: (s) => clauses(lifeEvent(s), s.has('note') && `原因：${s.text('note')}`) },
    'beneficiary.life_event.lookup': { label: '按身份证号码查找迁入人员', sentence: (s) => clauses(`查找 ${s.text('id')}`, `现登记地 ${s.text('place')}`) },
    'beneficiary.account.confirm': { label: '确认新登记的发放账户', sentence: (s) => clauses(s.text('change'), s.has('note') && `意见：${s.text('note')}`) },
    'beneficiary.account.reject': { label: '退回新登记的发放账户', sentence: (s) => clauses(s.text('change'), s.has('note') && `意见：${s.text('note')}`) },
    'beneficiary.import.confirm_accounts': {
      label: '确认导入文件的新账户',
      sentence: (s) => clauses(`“${s.text('file')}”的 ${s.count('accounts')} 个新账户一并确认`, s.count('luhnWarnings') > 0 && `其中卡号校验位不符 ${s.count('luhnWarnings')} 个`, s.has('note') && `意见：${s.text('note')}`),
    },
    'beneficiary.import.reject_accounts': {
      label: '退回导入文件的新账户',
      sentence: (s) => clauses(`“${s.text('file')}”的 ${s.count('accounts')} 个新账户一并退回`, s.has('note') && `原因：${s.text('note')}`),
    },
    'beneficiary.import': {
      label: '导入受益对象花名册',
      sentence: (s) =>
        clauses(
          `${s.text('township')}导入“${s.text('file')}”${s.count('rows')} 行`,
          `新增 ${s.count('created')} 人，更新 ${s.count('updated')} 人，未变化 ${s.count('unchanged')} 人`,
          s.count('accountRequests') > 0 && `账户变更申请 ${s.count('accountRequests')} 项`,
          s.count('newAccounts') > 0 && `新账户 ${s.count('newAccounts')} 个待财政所确认`,
        ),
    },
    'beneficiary.reference.load': {
      label: '载入部门比对数据',
      sentence: (s) =>
        clauses(
          `${s.choice('source', SOURCE_LABELS)}（截至 ${s.text('takenOn')}）`,
          s.text('channel') === 'api' ? '由数据共享平台经接口推送' : `上传文件“${s.text('file')}”`,
          `${s.count('rows')} 条，其中 ${s.count('matched')} 人在本平台档案中`,
        ),
    },
  },
  objects: {
    person: {
      label: '受益对象',
      names: async (db, ids) => new Map((await db('beneficiary_person').whereIn('id', ids.map(Number)).select('id', 'name')).map((p) => [String(p.id), maskName(p.name)])),
    },
    change_request: { label: '变更申请' },
    life_event: { label: '户籍变动事项' },
    import: {
      label: '花名册导入',
      names: async (db, ids) => new Map((await db('beneficiary_import').whereIn('id', ids.map(Number)).select('id', 'file_name')).map((i) => [String(i.id), `“${i.file_name}”`])),
    },
    // Refused uploads were recorded under this name before they joined 'import'; the rows stay readable.
    beneficiary_import: { label: '花名册导入（早期的拒绝记录）' },
    reference_snapshot: {
      label: '部门比对数据',
      names: async (db, ids) =>
        new Map(
          (await db('beneficiary_reference_snapshot').whereIn('id', ids.map(Number)).select('id', 'source', 'taken_on')).map((r) => [String(r.id), `${SOURCE_LABELS[r.source] ?? ''}（截至 ${r.taken_on}）`]),
        ),
    },
  },
};
