import { ROLE_LABELS, REGION_LEVEL_LABELS, type RegionLevel, type Role } from '../auth/roles.ts';
import type { AuditRow } from '../audit.ts';
import { formatDateTime } from '../dates.ts';
import { type Region, pathIds } from '../regions.ts';
import type { UserListRow } from '../users.ts';

/** Rows → what the core templates show. */
const ACTION_LABELS: Record<string, string> = {
  'login.success': '登录成功',
  'login.failure': '登录失败',
  'login.totp.success': '动态口令验证成功',
  'login.totp.failure': '动态口令验证失败',
  logout: '退出登录',
  'password.change': '修改密码',
  'password.change.failure': '修改密码失败',
  'totp.enrol': '绑定动态口令',
  'user.create': '创建用户',
  'user.update': '修改用户',
  'user.password_reset': '重置密码',
  'user.unlock': '解除锁定',
  'user.totp_reset': '重置动态口令',
  'region.create': '新增地区',
  'region.rename': '地区更名',
  'org.create': '新增单位',
  'access.denied': '越权访问被拒绝',
  'calendar.load': '载入工作日历',
  'settings.update': '修改设置',
  'task.run_now': '立即运行计划任务',
  'deadline.open': '开始限时计时',
  'deadline.done': '限时事项办结',
  'deadline.cancelled': '限时事项撤销',
  'deadline.overdue': '限时事项逾期',
  'audit.verify.failed': '审计日志校验异常',
  'demo.seed': '写入演示数据',
  'csrf.rejected': '可疑请求被拒绝（CSRF）',
};

export function actionLabel(action: string): string {
  return ACTION_LABELS[action] ?? action;
}

export function presentAuditRow(row: AuditRow) {
  return {
    id: Number(row.id),
    at: formatDateTime(row.at),
    who: row.username ?? '（未知）',
    roles: (row.roles ?? '').split(',').filter(Boolean).map((r) => ROLE_LABELS[r as Role] ?? r).join('、'),
    action: actionLabel(row.action),
    actionCode: row.action,
    object: row.object_type ? `${row.object_type}#${row.object_id ?? ''}` : '',
    summary: row.summary === '{}' ? '' : row.summary,
    ip: row.ip ?? '',
  };
}

export function presentUser(row: UserListRow) {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    region: row.region_name,
    org: row.org_name ?? '',
    roles: row.roles.map((r) => ROLE_LABELS[r]).join('、'),
    status: row.disabled ? '已停用' : row.locked ? '已锁定' : '正常',
    totp: row.totp_enabled ? '已绑定' : '未绑定',
    lastLogin: formatDateTime(row.last_login_at),
  };
}

export function presentRegionOptions(regions: Region[]) {
  const depthOf = (r: Region) => pathIds(r.path).length;
  const base = regions.length ? Math.min(...regions.map(depthOf)) : 0;
  return regions.map((r) => ({
    id: r.id,
    level: r.level,
    levelLabel: REGION_LEVEL_LABELS[r.level as RegionLevel],
    label: `${'　'.repeat(depthOf(r) - base)}${r.name}`,
    name: r.name,
    code: r.code ?? '',
    depth: depthOf(r) - base,
  }));
}

export const roleOptions = (Object.keys(ROLE_LABELS) as Role[]).map((value) => ({ value, label: ROLE_LABELS[value] }));
