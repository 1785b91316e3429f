import type Router from '@koa/router';
import { ROLE_LABELS } from '../auth/roles.ts';
import { deadlineQueues } from '../deadlines.ts';
import type { AppModule, WorkQueue } from '../module.ts';
import type { Web } from './web.ts';

/** Each role's home page: the work waiting for it, gathered from the modules. */
export function homeRoutes(router: Router, web: Web, modules: AppModule[]): void {
  router.get('/', async (ctx) => {
    const actor = web.actor(ctx);
    const queues: WorkQueue[] = await deadlineQueues(web.core.db, actor);
    for (const m of modules) if (m.queues) queues.push(...(await m.queues(actor)));
    web.render(ctx, 'core/home.njk', {
      title: '工作台',
      roles: actor.roles.map((r) => ({ code: r, label: ROLE_LABELS[r] })),
      queues,
    });
  });

  router.get('/healthz', async (ctx) => {
    await web.core.db.raw('select 1');
    ctx.body = { status: 'ok' };
  });
}
