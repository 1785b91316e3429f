import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { businessYear } from '../../core/dates.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import type { Web } from '../../core/web/web.ts';
import { importAllocationFile } from './allocation-import.ts';
import { can } from './policy.ts';
import { allocations, listRegionFor, policyList } from './queries.ts';
import { listQuerySchema } from './schemas.ts';

/**
 * 资金指标 (/allocations): the county's allocation documents (指标文件) of a year, every item together, and for the
 * finance section the upload of a file of them from the budget system (allocation-import.ts). The form on a policy's
 * page still records one document by hand.
 */
export function allocationRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  async function page(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const year = validate(listQuerySchema, ctx.query).year ?? businessYear();
    const county = await listRegionFor(db, actor.regionId);
    const rows = await allocations(db, county.id, { year });
    const items = new Map((await policyList(db, county, year, { publicOnly: false })).map((v) => [v.itemId, v]));
    const names = new Map<number, { code: string; name: string }>();
    for (const v of items.values()) names.set(v.itemId, { code: v.code, name: v.name });
    // An item not in force that year (its allocation recorded all the same) is named by its code.
    const missing = rows.filter((r) => !names.has(r.itemId)).map((r) => r.itemId);
    if (missing.length) for (const r of (await db('policy_item').whereIn('id', [...new Set(missing)]).select('id', 'code')) as { id: number; code: string }[]) names.set(r.id, { code: r.code, name: '' });
    const total = rows.reduce((sum, r) => sum + r.amountFen, 0);
    web.render(
      ctx,
      'policy/allocations.njk',
      {
        title: `${county.name}${year}年资金指标`,
        county: county.name,
        year,
        rows: rows.map((r) => ({ itemId: r.itemId, code: names.get(r.itemId)?.code ?? '', name: names.get(r.itemId)?.name ?? '', amount: formatYuan(r.amountFen), docNumber: r.docNumber, docTitle: r.docTitle, docDate: r.docDate })),
        total: formatYuan(total),
        canImport: can(actor, 'allocate', county).ok,
        ...extra,
      },
      status,
    );
  }

  router.get('/allocations', async (ctx) => page(ctx, await web.permit(ctx, (a) => can(a, 'view_allocations', null))));

  router.post('/allocations/import', async (ctx) => {
    const actor = web.actor(ctx);
    const file = uploadedFile(ctx);
    if (!file) return page(ctx, actor, { importError: '请选择要导入的指标文件（.csv 或 .xlsx）' }, 422);
    const result = await importAllocationFile(web.core, actor, file);
    if (result.ok) {
      const message = result.repeated ? '该文件已导入过，本次没有做任何更改' : `指标文件已导入：新登记 ${result.created} 条，已登记且相同 ${result.unchanged} 条`;
      await web.redirectWith(ctx, '/allocations', { kind: result.repeated ? 'info' : 'success', message });
      return;
    }
    await page(ctx, actor, { refusal: await web.importRefusal(ctx, '指标文件导入', file.name, result.errors, result.report) }, 422);
  });
}
