import { API_PURPOSES } from './api.ts';
import { type AuditSummary, type AuditVocabulary, changes, clauses } from './audit-vocabulary.ts';
import { type Role, REGION_LEVEL_LABELS, ROLE_LABELS } from './auth/roles.ts';
import type { DeadlineRules } from './deadlines.ts';
import { exportAuditAction } from './lists.ts';
import type { TaskDefinition } from './scheduler.ts';

const REFUSAL_REASONS: Record<string, string> = {
  out_of_scope: '不在其管辖范围内',
  not_allowed: '不是其职责',
  four_eyes: '须由另一人办理（四眼原则）',
  not_auditor: '审计日志仅审计管理员可以查看',
};
const LOGIN_FAILURES: Record<string, string> = { unknown_user: '用户名不存在', disabled: '账户已停用', locked: '账户已锁定' };
/** A refusal by the login throttle (src/core/auth/throttle.ts): the password or code was not checked. */
const throttled = (s: AuditSummary) => `尝试过于频繁，未经核对即拒绝，须再等待 ${s.count('wait_seconds')} 秒`;
const roleLabel = (code: unknown) => (typeof code === 'string' && Object.hasOwn(ROLE_LABELS, code) ? ROLE_LABELS[code as Role] : '');
const CSRF_REASONS: Record<string, string> = { origin: '来源网站不符', token: '表单令牌无效或已过期' };
const ORG_KINDS: Record<string, string> = { department: '业务主管部门', bank: '代发金融机构' };

/** A deadline's object, written as "type:id" (after the rule's code while the clock was open). */
function deadlineObject(s: AuditSummary): string {
  const object = s.text('object');
  const rule = `${s.text('rule')}:`;
  return s.reference(object.startsWith(rule) ? object.slice(rule.length) : object);
}

// Rows written before the login throttle (they all have `locked`) counted the account's consecutive failures and
// could lock it; later rows count this username's failures from this address in the last hour.
const attempts = (s: AuditSummary) =>
  s.keys().includes('locked')
    ? clauses(s.has('failed') && `连续第 ${s.count('failed')} 次`, s.has('locked') && '账户已锁定')
    : s.has('failed') && `该用户名从此地址一小时内第 ${s.count('failed')} 次失败`;

function userSentence(after: AuditSummary): string {
  return clauses(
    `用户名 ${after.text('username')}`,
    after.has('name') && `姓名 ${after.text('name')}`,
    after.list('roles').length > 0 && `角色：${after.list('roles').map(String).join('、')}`,
    after.has('region') && `所属地区：${after.text('region')}`,
    after.has('org') && `单位：${after.text('org')}`,
  );
}

/** The deadline lengths changed on the 时限设置 page (keys `deadline.<rule>.days`). */
function settingSentence(rules: DeadlineRules, s: AuditSummary): string {
  return s
    .keys()
    .map((key) => {
      const change = s.part(key);
      const rule = rules.get(/^deadline\.(.+)\.days$/.exec(key)?.[1] ?? '');
      const unit = rule?.unit === 'working' ? '个工作日' : '天';
      const value = (k: string) => (change.has(k) ? ` ${change.text(k)} ${unit}` : `默认的 ${rule?.days ?? ''} ${unit}`);
      if (rule) return `“${rule.label}”时限由${value('before')}改为${value('after')}`;
      const text = (k: string) => (change.has(k) ? `“${change.text(k)}”` : '未设置');
      return `设置 ${key} 由${text('before')}改为${text('after')}`;
    })
    .join('；');
}

/**
 * The platform's own audit vocabulary (logins, users, regions, settings, tokens, deadlines); `tasks` name the scheduled
 * tasks and `deadlineRules` the modules' deadline rules.
 */
export function coreAuditVocabulary(tasks: TaskDefinition[], deadlineRules: DeadlineRules): AuditVocabulary {
  const taskLabels = new Map(tasks.map((t) => [t.name, t.label]));
  const ruleLabel = (s: AuditSummary) => `“${deadlineRules.get(s.text('rule'))?.label ?? '限时事项'}”`;
  return {
    name: 'core',
    title: '平台（登录、用户、设置）',
    actions: {
      'login.success': { label: '登录成功', sentence: (s) => (s.text('second_factor') === 'pending' ? '密码正确，待验证动态口令' : '') },
      'login.failure': {
        label: '登录失败',
        sentence: (s) => {
          const reason = s.text('reason');
          if (reason === 'throttled') return throttled(s);
          if (reason === 'wrong_password') return clauses('密码错误', attempts(s));
          return clauses(s.choice('reason', LOGIN_FAILURES), reason === 'unknown_user' && attempts(s));
        },
      },
      'login.totp.success': { label: '动态口令验证成功' },
      'login.totp.failure': { label: '动态口令验证失败', sentence: (s) => (s.text('reason') === 'throttled' ? throttled(s) : clauses('动态口令错误', attempts(s))) },
      logout: { label: '退出登录' },
      'password.change': { label: '修改密码' },
      'password.change.failure': { label: '修改密码失败', sentence: (s) => (s.text('reason') === 'wrong_current' ? '当前密码错误' : '') },
      'totp.enrol': { label: '绑定动态口令' },
      'user.create': {
        label: '创建用户',
        sentence: (s) => clauses(userSentence(s.part('after')), s.text('via') === 'create-admin' && '由 ykt create-admin 命令创建'),
      },
      'user.update': {
        label: '修改用户',
        sentence: (s) => {
          const before = s.part('before');
          const after = s.part('after');
          const state = (p: AuditSummary) => (p.has('disabled') ? '停用' : '正常');
          return [changes(before, after, { name: '姓名', roles: '角色', region: '所属地区', org: '单位' }), state(before) !== state(after) && `状态由“${state(before)}”改为“${state(after)}”`]
            .filter(Boolean)
            .join('；') || '未改变任何内容';
        },
      },
      'user.password_reset': {
        label: '重置密码',
        sentence: (s) =>
          clauses(
            `用户名 ${s.text('username')}`,
            s.list('roles').length > 0 && `角色：${s.list('roles').map(roleLabel).join('、')}`,
            '须在下次登录时修改密码',
            s.has('totp_cleared') && '三员账户，动态口令已清除、须重新绑定',
          ),
      },
      'user.unlock': { label: '解除登录限制', sentence: (s) => `用户名 ${s.text('username')}` },
      'user.totp_reset': { label: '重置动态口令', sentence: (s) => `用户名 ${s.text('username')}，须重新绑定` },
      'region.create': {
        label: '新增地区',
        sentence: (s) => {
          const after = s.part('after');
          return clauses(`在${after.text('parent')}下新增${after.choice('level', REGION_LEVEL_LABELS)}“${after.text('name')}”`, after.regionCode('code') && `区划代码 ${after.regionCode('code')}`, s.text('via') === 'import' && '按区划代码文件导入');
        },
      },
      'region.rename': { label: '地区更名', sentence: (s) => clauses(`由“${s.part('before').text('name')}”更名为“${s.part('after').text('name')}”`, s.text('via') === 'import' && '按区划代码文件导入') },
      'region.code': { label: '设置区划代码', sentence: (s) => clauses(`“${s.text('name')}”的统计用区划代码设为 ${s.part('after').regionCode('code')}`, s.text('via') === 'import' && '按区划代码文件导入') },
      'region.import': {
        label: '导入区划代码',
        sentence: (s) =>
          clauses(
            `${s.text('county')}：文件“${s.text('file')}”（SHA-256 ${s.text('sha256').slice(0, 16)}…）共 ${s.count('rows')} 行`,
            `新增 ${s.count('created')} 个，设置代码 ${s.count('coded')} 个，更名 ${s.count('renamed')} 个，未变化 ${s.count('unchanged')} 个`,
          ),
      },
      'org.create': {
        label: '新增单位',
        sentence: (s) => {
          const after = s.part('after');
          return `在${after.text('region')}新增${after.choice('kind', ORG_KINDS)}“${after.text('name')}”`;
        },
      },
      'audit.export': exportAuditAction('导出审计日志'),
      'audit.person_search': { label: '按身份证号码查询审计日志', sentence: (s) => (s.has('found') ? '查到该受益对象，列出与其有关的全部记录' : '管辖范围内没有登记该身份证号码的受益对象') },
      'access.denied': {
        label: '越权访问被拒绝',
        sentence: (s) => clauses(s.has('path') && `访问页面 ${s.text('path')}`, s.choice('reason', REFUSAL_REASONS) && `原因：${s.choice('reason', REFUSAL_REASONS)}`),
      },
      'csrf.rejected': {
        label: '可疑请求被拒绝（CSRF）',
        sentence: (s) => {
          const reason = s.text('reason').startsWith('sec-fetch-site:') ? '来自其他网站' : s.choice('reason', CSRF_REASONS);
          return clauses(`提交到 ${s.text('path')}`, reason && `原因：${reason}`);
        },
      },
      'calendar.load': {
        label: '载入工作日历',
        sentence: (s) =>
          clauses(
            `${s.text('year')} 年：节假日 ${s.count('holidays')} 天，调休上班 ${s.count('workdays')} 天`,
            s.has('source') && `依据：${s.text('source')}`,
            s.has('unchanged') ? '与原有安排相同' : s.has('before') && `替换了原有安排（节假日 ${s.part('before').count('holidays')} 天，调休上班 ${s.part('before').count('workdays')} 天）`,
          ),
      },
      'settings.update': { label: '修改设置', sentence: (s) => settingSentence(deadlineRules, s) },
      'task.run_now': { label: '立即运行计划任务' },
      'deadline.open': {
        label: '开始限时计时',
        sentence: (s) => clauses(`${deadlineObject(s)}的${ruleLabel(s)}开始计时，${s.text('due_on')} 到期`, s.has('warning') && s.text('warning')),
      },
      'deadline.done': { label: '限时事项办结', sentence: (s) => clauses(`${deadlineObject(s)}的${ruleLabel(s)}已办结`, s.has('late') ? `超过到期日 ${s.text('due_on')}` : '未逾期') },
      'deadline.cancelled': { label: '限时事项撤销', sentence: (s) => `${deadlineObject(s)}的${ruleLabel(s)}不再需要办理，计时撤销` },
      'deadline.overdue': { label: '限时事项逾期', sentence: (s) => `${deadlineObject(s)}的${ruleLabel(s)}已超过到期日 ${s.text('due_on')}，已提醒责任人和监督人员` },
      'audit.verify.failed': { label: '审计日志校验异常', sentence: (s) => s.text('problem') },
      'api.token.create': {
        label: '创建接口令牌',
        sentence: (s) => clauses(`“${s.text('name')}”`, `用途：${s.choice('purpose', API_PURPOSES)}`, `地区：${s.text('region')}`, s.text('state') === 'pending' && '待财政局业务科室批准'),
      },
      'api.token.approve': { label: '批准接口令牌', sentence: (s) => clauses(`“${s.text('name')}”`, `用途：${s.choice('purpose', API_PURPOSES)}`, `地区：${s.text('region')}`, '自此可以使用') },
      'api.token.refuse': { label: '拒绝接口令牌', sentence: (s) => clauses(`“${s.text('name')}”`, `用途：${s.choice('purpose', API_PURPOSES)}`, `地区：${s.text('region')}`, '该令牌不能使用') },
      'api.token.revoke': { label: '吊销接口令牌', sentence: (s) => `“${s.text('name')}”` },
      'column_mapping.save': {
        label: '保存导入列对应关系',
        sentence: (s) => clauses(`${s.text('region')}的“${s.text('kind')}”`, s.list('columns').length > 0 && `文件表头对应：${s.list('columns').map(String).join('、')}`),
      },
      'column_mapping.delete': { label: '删除导入列对应关系', sentence: (s) => `${s.text('region')}的“${s.text('kind')}”：${s.text('column')}←${s.text('header')}` },
      'key.rotate': {
        label: '更换字段加密密钥',
        sentence: (s) => `由系统命令 ykt rotate-key 在停机状态下执行：${s.count('columns')} 个加密字段或索引、共 ${s.count('rows')} 行改用新密钥`,
      },
      'signing_key.rotate': {
        label: '更换文件签名密钥',
        sentence: (s) => `由系统命令 ykt rotate-signing-key 执行：停用指纹 ${s.text('retired').slice(0, 16)}… 的密钥对（其签名仍可核对），此后以指纹 ${s.text('current').slice(0, 16)}… 的新密钥对签名`,
      },
      'county.move': {
        label: '县迁入中心部署',
        sentence: (s) =>
          clauses(
            `由系统命令 ykt migrate-to-postgres 把${s.text('county')}的 SQLite 数据库迁入`,
            `共 ${s.count('rows')} 行，编号顺延 ${s.count('offset')}`,
            `${s.count('rounds')} 个批次的明细金额 ${s.yuan('linesFen')}核对一致`,
            `迁入前的审计日志 ${s.count('auditRows')} 条原样归档`,
            s.has('reencrypted') && '加密字段改用本部署的密钥',
          ),
      },
      'demo.seed': {
        label: '写入演示数据',
        sentence: (s) => clauses(`演示县“${s.text('county')}”`, `用户 ${s.count('users')} 个`, `政策 ${s.count('policies')} 项`, `受益对象 ${s.count('people')} 人`),
      },
    },
    objects: {
      user: {
        label: '用户',
        names: async (db, ids) => new Map((await db('core_user').whereIn('id', ids.map(Number)).select('id', 'username', 'display_name')).map((u) => [String(u.id), `${u.display_name}（${u.username}）`])),
      },
      region: { label: '地区', names: async (db, ids) => new Map((await db('core_region').whereIn('id', ids.map(Number)).select('id', 'name')).map((r) => [String(r.id), r.name])) },
      org: { label: '单位', names: async (db, ids) => new Map((await db('core_org').whereIn('id', ids.map(Number)).select('id', 'name')).map((o) => [String(o.id), o.name])) },
      api_token: { label: '接口令牌', names: async (db, ids) => new Map((await db('core_api_token').whereIn('id', ids.map(Number)).select('id', 'name')).map((t) => [String(t.id), `“${t.name}”`])) },
      deadline: { label: '限时事项', names: async (db, ids) => new Map((await db('core_deadline').whereIn('id', ids.map(Number)).select('id', 'title')).map((d) => [String(d.id), d.title])) },
      task: { label: '计划任务', names: async (_db, ids) => new Map(ids.flatMap((id) => (taskLabels.has(id) ? [[id, `“${taskLabels.get(id)}”`] as const] : []))) },
      column_mapping: { label: '导入列对应关系', names: async (db, ids) => new Map((await db('core_column_mapping').whereIn('id', ids.map(Number)).select('id', 'column_name', 'header_text')).map((m) => [String(m.id), `“${m.column_name}←${m.header_text}”`])) },
      calendar_year: { label: '工作日历', names: async (_db, ids) => new Map(ids.map((id) => [id, `${id} 年`])) },
      page: { label: '页面', names: async (_db, ids) => new Map(ids.map((id) => [id, id])) },
      audit_log: { label: '审计日志' },
      deployment: { label: '本部署' },
      county_move: {
        label: '县迁入记录',
        names: async (db, ids) => new Map((await db('core_county_move').whereIn('id', ids.map(Number)).select('id', 'county_name')).map((m) => [String(m.id), `${m.county_name}迁入`])),
      },
    },
  };
}
