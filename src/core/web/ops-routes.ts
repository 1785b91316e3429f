import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { REGION_LEVEL_LABELS, type RegionLevel } from '../auth/roles.ts';
import { formatDateTime } from '../dates.ts';
import { type DeadlineRules, listDeadlines, parseRuleLengths, settingKey } from '../deadlines.ts';
import { ValidationError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { findRegion } from '../regions.ts';
import type { TaskDefinition } from '../scheduler.ts';
import { listTasks, requestTaskRun } from '../scheduler.ts';
import { saveSettings, settingFor, settingsAt } from '../settings.ts';
import { page } from '../fields.ts';
import type { Web } from './web.ts';

const PAGE_SIZE = 50;
const deadlineQuerySchema = z.object({ overdue: z.enum(['', '0', '1'], { error: '筛选条件无效' }).optional(), page });

/**
 * Operations pages: scheduled tasks and deadline settings (administrator), deadlines (responsible roles, supervisors).
 * `tasks` are every scheduled task (the platform's and the modules'), `deadlineRules` every module's deadline rules.
 */
export function opsRoutes(router: Router, web: Web, tasks: TaskDefinition[], deadlineRules: DeadlineRules): void {
  const { core } = web;
  const admin = (ctx: Context) => web.requireRole(ctx, ['admin'], '此页面仅系统管理员可以使用');
  const labels = new Map(tasks.map((t) => [t.name, t.label]));

  router.get('/admin/tasks', async (ctx) => {
    await admin(ctx);
    const rows = await listTasks(core.db);
    web.render(ctx, 'admin/tasks.njk', {
      title: '计划任务',
      tasks: rows.map((r) => ({
        name: r.name,
        label: labels.get(r.name) ?? r.name,
        schedule: r.schedule,
        lastRun: formatDateTime(r.last_run_at),
        status: r.last_status === 'error' ? `失败（连续 ${r.failures} 次）` : r.last_status === 'ok' ? '正常' : '尚未运行',
        failed: r.last_status === 'error',
        result: r.last_result ?? '',
        duration: r.last_duration_ms == null ? '' : `${(r.last_duration_ms / 1000).toFixed(1)} 秒`,
        nextRun: formatDateTime(r.next_run_at),
        running: Boolean(r.lock_owner),
      })),
    });
  });

  router.post('/admin/tasks/:name/run', async (ctx) => {
    const actor = await admin(ctx);
    await requestTaskRun(core, actor, ctx.params.name!);
    await web.redirectWith(ctx, '/admin/tasks', { kind: 'success', message: `已安排“${labels.get(ctx.params.name!) ?? ctx.params.name}”立即运行，约 15 秒内开始，请稍后刷新查看结果` });
  });

  async function settingsPage(ctx: Context, data: Record<string, unknown> = {}, status = 200) {
    const actor = await admin(ctx);
    const region = (await findRegion(core.db, actor.regionId))!;
    const rules = deadlineRules.all();
    const own = await settingsAt(core.db, actor.regionId, rules.map((r) => settingKey(r.code)));
    const inherited = await Promise.all(rules.map(async (r) => (region.parent_id ? settingFor(core.db, region.parent_id, settingKey(r.code)) : null)));
    web.render(
      ctx,
      'admin/settings.njk',
      {
        title: '限时办理时限',
        region: `${region.name}（${REGION_LEVEL_LABELS[region.level as RegionLevel]}）`,
        rules: rules.map((r, i) => ({
          code: r.code,
          label: r.label,
          unit: r.unit === 'working' ? '个工作日' : '天',
          basis: r.basis,
          defaultDays: inherited[i] ?? r.days,
          value: own.get(settingKey(r.code)) ?? '',
        })),
        ...data,
      },
      status,
    );
  }

  router.get('/admin/settings', (ctx) => settingsPage(ctx));
  router.post('/admin/settings', async (ctx) => {
    const actor = await admin(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      await saveSettings(core.db, actor, parseRuleLengths(deadlineRules, body));
    } catch (err) {
      if (err instanceof ValidationError) return settingsPage(ctx, { errors: err.fieldErrors, values: body }, 422);
      throw err;
    }
    await web.redirectWith(ctx, '/admin/settings', { kind: 'success', message: '时限设置已保存，此后新开始的计时按新时限计算' });
  });

  router.get('/deadlines', async (ctx) => {
    const actor = web.actor(ctx);
    const query = validate(deadlineQuerySchema, ctx.query);
    const overdueOnly = query.overdue === '1';
    const { rows, total } = await listDeadlines(core.db, actor, deadlineRules, { overdueOnly, page: query.page, pageSize: PAGE_SIZE });
    web.render(ctx, 'core/deadlines.njk', { title: overdueOnly ? '逾期未办事项' : '限时办理事项', rows, total, overdueOnly, page: query.page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)) });
  });
}
