import type Router from '@koa/router';
import { apiTokenQueues } from '../api.ts';
import { ROLE_LABELS } from '../auth/roles.ts';
import { type DeadlineRules, deadlineQueues } from '../deadlines.ts';
import { fetchDownload } from '../downloads.ts';
import { NotFoundError } from '../errors.ts';
import type { AppModule, WorkQueue } from '../module.ts';
import { threeOfficerAlertQueues } from '../users.ts';
import type { Web } from './web.ts';

/**
 * Each role's home page: the work waiting for it, gathered from the modules, from the clocks of their deadline rules,
 * and from core (API tokens awaiting the finance section, changes to 三员 accounts for the auditors to check).
 */
export function homeRoutes(router: Router, web: Web, modules: AppModule[], deadlineRules: DeadlineRules): void {
  router.get('/', async (ctx) => {
    const actor = web.actor(ctx);
    const queues: WorkQueue[] = [...(await deadlineQueues(web.core.db, actor, deadlineRules)), ...(await apiTokenQueues(web.core.db, actor)), ...(await threeOfficerAlertQueues(web.core.db, actor))];
    for (const m of modules) if (m.queues) queues.push(...(await m.queues(actor)));
    web.render(ctx, 'core/home.njk', {
      title: '工作台',
      roles: actor.roles.map((r) => ({ code: r, label: ROLE_LABELS[r] })),
      queues,
    });
  });

  // A file stashed for this user a moment ago (an import's error report): see core/downloads.ts.
  router.get('/downloads/:token', async (ctx) => {
    const file = await fetchDownload(web.core, web.actor(ctx).userId, String(ctx.params.token));
    if (!file) throw new NotFoundError('文件不存在或已过期（保留一小时），请重新上传生成');
    web.sendFile(ctx, file.fileName, file.contentType, file.body);
  });

  router.get('/healthz', async (ctx) => {
    await web.core.db.raw('select 1');
    ctx.body = { status: 'ok' };
  });
}
