import path from 'node:path';
import { type AuditAnchorPoint, recordAudit } from './audit.ts';
import { checkAuditLog } from './audit-anchor.ts';
import { deleteExpiredSessions } from './auth/session.ts';
import { deleteStaleLoginThrottles } from './auth/throttle.ts';
import { deleteExpiredDownloads } from './downloads.ts';
import { backupSqlite } from './backup.ts';
import type { Core } from './context.ts';
import { inTransaction, isPostgres } from './db.ts';
import { sweepDeadlines } from './deadlines.ts';
import { type EventHandlers, dispatchEvents } from './events.ts';
import type { TaskDefinition } from './scheduler.ts';

/** The platform's own scheduled tasks. Modules add theirs (quarterly reconciliation, …) through AppModule. */
export function coreTasks(core: Core, handlers: EventHandlers): TaskDefinition[] {
  const tasks: TaskDefinition[] = [
    {
      name: 'deadline-sweep',
      label: '限时办理到期检查与逾期上报',
      schedule: '*/15 * * * *',
      async run() {
        const { newlyOverdue, overdue } = await sweepDeadlines(core.db);
        return `新增逾期 ${newlyOverdue} 件，当前逾期共 ${overdue} 件`;
      },
    },
    {
      name: 'session-cleanup',
      label: '清理过期会话和待下载文件',
      schedule: '17 * * * *',
      async run() {
        const sessions = await deleteExpiredSessions(core.db, core.config.sessionIdleMinutes);
        const downloads = await deleteExpiredDownloads(core.db);
        return `已清理 ${sessions} 个过期会话、${downloads} 个过期的待下载文件、${await deleteStaleLoginThrottles(core.db)} 条一小时无新失败的登录失败计数`;
      },
    },
    {
      name: 'audit-verify',
      label: '审计日志哈希链校验',
      schedule: '30 2 * * *',
      async run(ctx) {
        // The anchor that counts is the file outside the database (checkAuditLog). The task also keeps the last
        // row it verified in its own state, as a second anchor: a weaker one, since it is in the database.
        const kept = ctx.state as AuditAnchorPoint | null;
        const result = await checkAuditLog(core.db, core.config, kept ? [kept] : [], 'ykt-scheduler');
        if (!result.ok) {
          const problem = result.problem;
          await inTransaction(core.db, (trx) => recordAudit(trx, { userId: null, username: 'ykt-scheduler', ip: null }, { action: 'audit.verify.failed', summary: { problem } }));
          throw new Error(`审计日志异常：${problem}`);
        }
        if (result.anchorError) throw new Error(result.anchorError);
        if (result.lastId !== null && result.lastHash !== null) ctx.setState({ lastId: result.lastId, lastHash: result.lastHash } satisfies AuditAnchorPoint);
        return `完整：已校验 ${result.checked} 条记录`;
      },
    },
    {
      name: 'event-dispatch',
      label: '分发模块事件（发件箱）',
      schedule: '* * * * *',
      async run() {
        const r = await dispatchEvents(core.db, handlers);
        if (r.failed) throw new Error(`送达 ${r.delivered} 件，失败 ${r.failed} 件（将按退避时间重试）`);
        return `送达 ${r.delivered} 件${r.unhandled ? `，无处理模块 ${r.unhandled} 件` : ''}`;
      },
    },
  ];
  if (!isPostgres(core.db)) {
    tasks.push({
      name: 'sqlite-backup',
      label: 'SQLite 数据库备份',
      schedule: '0 3 * * *',
      async run() {
        const { file, bytes, removed } = await backupSqlite(core.db, path.join(core.config.dataDir, 'backups'), core.config.backupKeep);
        return `已备份到 ${path.basename(file)}（${(bytes / 1048576).toFixed(1)} MB），轮换删除 ${removed.length} 份旧备份`;
      },
    });
  }
  return tasks;
}
