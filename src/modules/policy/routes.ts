import type Router from '@koa/router';
import type { Context } from 'koa';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import { authorize } from '../../core/authz.ts';
import { businessDate, businessYear } from '../../core/dates.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { parseId, validate } from '../../core/http/validate.ts';
import { type Region, publicCounty } from '../../core/regions.ts';
import type { Web } from '../../core/web/web.ts';
import { createPolicy, importPolicies, publishPolicyVersion, recordAllocation, returnPolicyVersion, savePolicyDraft } from './commands.ts';
import { writePolicyListPdf, writePolicyListXlsx } from './files.ts';
import { can } from './policy.ts';
import { formValues, groupByDepartment, listDocument, presentAllocation, presentVersion, presentVersionFor } from './presenters.ts';
import { allocations, draftsAwaitingPublication, draftsOfDepartment, listRegionFor, policyList, policyVersions } from './queries.ts';
import { performanceRoutes } from './performance-routes.ts';
import { allocationRoutes } from './allocation-routes.ts';
import { allocationSchema, listQuerySchema, policyCreateSchema, policyFormSchema, reviewSchema } from './schemas.ts';


/** Thin routes: validate → authorize (in the commands) → command or query → present → render. */
export function policyRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  performanceRoutes(router, web);
  allocationRoutes(router, web);

  function itemIdParam(ctx: Context): number {
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('补贴项目不存在');
    return id;
  }

  async function versionsOrNotFound(itemId: number) {
    const versions = await policyVersions(db, itemId);
    if (!versions.length) throw new NotFoundError('补贴项目不存在');
    return versions;
  }

  // --- staff pages --------------------------------------------------------------------------------------

  async function listPage(ctx: Context, extra: Record<string, unknown> = {}, status = 200) {
    const actor = web.actor(ctx);
    const query = validate(listQuerySchema, ctx.query);
    const year = query.year ?? businessYear();
    const listRegion = await listRegionFor(db, actor.regionId);
    const list = (await policyList(db, listRegion, year, { publicOnly: false })).map(presentVersion);
    const pending = hasRole(actor, 'finance_section') ? (await draftsAwaitingPublication(db, actor.regionId)).map((v) => presentVersionFor(actor, v)) : [];
    const canCreate = can(actor, 'create', null).ok;
    const mine = canCreate ? (await draftsOfDepartment(db, actor.orgId!)).map(presentVersion) : [];
    web.render(
      ctx,
      'policy/list.njk',
      {
        title: '政策清单',
        region: listRegion.name,
        year,
        groups: groupByDepartment(list),
        count: list.length,
        pending,
        mine,
        canCreate,
        ...extra,
      },
      status,
    );
  }

  router.get('/policies', (ctx) => listPage(ctx));

  const formPage = (ctx: Context, data: Record<string, unknown>, status = 200) => web.render(ctx, 'policy/form.njk', data, status);

  router.get('/policies/new', async (ctx) => {
    const actor = web.actor(ctx);
    await authorize(db, actor, can(actor, 'create', null), { objectType: 'policy' });
    formPage(ctx, { title: '新增补贴项目', creating: true, values: formValues(null, businessYear()) });
  });

  // Registered before /policies/:id so that these fixed paths win.
  router.get('/policies/export.xlsx', async (ctx) => {
    const actor = web.actor(ctx);
    await authorize(db, actor, can(actor, 'export_own', null), { objectType: 'policy' });
    const year = businessYear();
    const listRegion = await listRegionFor(db, actor.regionId);
    const own = (await policyList(db, listRegion, year, { publicOnly: false })).filter((v) => v.departmentOrgId === actor.orgId);
    web.sendFile(ctx, `${actor.orgName}补贴项目.xlsx`, XLSX_TYPE, await writePolicyListXlsx(listDocument(listRegion.name, year, businessDate(), own)));
  });

  router.post('/policies/import', async (ctx) => {
    const actor = web.actor(ctx);
    const file = uploadedFile(ctx);
    if (!file) return listPage(ctx, { importError: '请选择要导入的 Excel 文件' }, 422);
    const result = await importPolicies(web.core, actor, file);
    if (result.ok) {
      const message = result.repeated ? '该文件已导入过，本次没有做任何更改' : `导入完成：新增 ${result.created} 项，调整 ${result.changed} 项，未变化 ${result.unchanged} 项；调整待本级财政部门发布`;
      await web.redirectWith(ctx, '/policies', { kind: 'success', message });
      return;
    }
    await listPage(ctx, { refusal: await web.importRefusal(ctx, '政策清单导入', file.name, result.errors, result.report) }, 422);
  });

  router.post('/policies', async (ctx) => {
    const actor = web.actor(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const { itemId } = await createPolicy(web.core, actor, validate(policyCreateSchema, body));
      await web.redirectWith(ctx, `/policies/${itemId}`, { kind: 'success', message: '补贴项目已保存为草稿，待本级财政部门发布' });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      formPage(ctx, { title: '新增补贴项目', creating: true, values: body, errors: err.fieldErrors }, 422);
    }
  });

  /** A policy's page: versions, the county's allocations, and the actions this actor may take. */
  async function detailPage(ctx: Context, actor: Actor, itemId: number, extra: Record<string, unknown> = {}, status = 200) {
    const versions = await versionsOrNotFound(itemId);
    const county = await listRegionFor(db, actor.regionId);
    const latest = versions[0]!;
    web.render(
      ctx,
      'policy/detail.njk',
      {
        title: latest.name,
        policy: presentVersion(latest),
        versions: versions.map((v) => presentVersionFor(actor, v)),
        allocations: (await allocations(db, county.id, { itemId })).map(presentAllocation),
        county: county.name,
        canEdit: can(actor, 'edit', latest).ok,
        canAllocate: can(actor, 'allocate', county).ok,
        canSetGoals: can(actor, 'set_goals', county).ok,
        goalsYear: businessYear(),
        allocationValues: { year: businessYear() },
        ...extra,
      },
      status,
    );
  }

  router.get('/policies/:id', (ctx) => detailPage(ctx, web.actor(ctx), itemIdParam(ctx)));

  router.get('/policies/:id/edit', async (ctx) => {
    const itemId = itemIdParam(ctx);
    const versions = await versionsOrNotFound(itemId);
    const actor = web.actor(ctx);
    await authorize(db, actor, can(actor, 'edit', versions[0]!), { objectType: 'policy', objectId: itemId });
    const open = versions.find((v) => v.state !== 'published') ?? versions[0]!;
    formPage(ctx, { title: `修改：${open.name}`, itemId: open.itemId, code: open.code, values: formValues(open, businessYear()), returnReason: open.returnReason });
  });

  router.post('/policies/:id', async (ctx) => {
    const actor = web.actor(ctx);
    const itemId = itemIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      await savePolicyDraft(web.core, actor, itemId, validate(policyFormSchema, body));
      await web.redirectWith(ctx, `/policies/${itemId}`, { kind: 'success', message: '调整已保存为草稿，待本级财政部门发布' });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const versions = await versionsOrNotFound(itemId);
      formPage(ctx, { title: `修改：${versions[0]!.name}`, itemId, code: versions[0]!.code, values: body, errors: err.fieldErrors }, 422);
    }
  });

  /** A review step from the policy's page: a refusal (reason missing, four-eyes, changed meanwhile) is shown there. */
  async function review(ctx: Context, act: (actor: Actor, versionId: number, input: { revision: number; reason: string | null }) => Promise<void>, message: string) {
    const actor = web.actor(ctx);
    const versionId = parseId(ctx.params.vid);
    const row = versionId === null ? undefined : ((await db('policy_version').where({ id: versionId }).first('item_id')) as { item_id: number } | undefined);
    if (versionId === null || !row) throw new NotFoundError('版本不存在');
    const itemId = row.item_id;
    await web.formStep(
      ctx,
      `/policies/${itemId}`,
      async () => {
        await act(actor, versionId, validate(reviewSchema, ctx.request.body));
        return message;
      },
      (extra, status) => detailPage(ctx, actor, itemId, 'errors' in extra ? { reviewErrors: extra.errors, reviewVersionId: versionId } : extra, status),
    );
  }

  router.post('/policies/versions/:vid/publish', (ctx) => review(ctx, (actor, id, input) => publishPolicyVersion(web.core, actor, id, input.revision), '已发布，新版本自其执行年度起生效'));
  router.post('/policies/versions/:vid/return', (ctx) =>
    review(
      ctx,
      (actor, id, input) => {
        if (!input.reason) throw new ValidationError({ reason: '请填写退回原因' });
        return returnPolicyVersion(web.core, actor, id, input.revision, input.reason);
      },
      '已退回主管部门修改',
    ),
  );

  router.post('/policies/:id/allocations', async (ctx) => {
    const actor = web.actor(ctx);
    const itemId = itemIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(allocationSchema, body);
      await recordAllocation(web.core, actor, { itemId, year: input.year, amountFen: input.amount, docNumber: input.docNumber, docTitle: input.docTitle, docDate: input.docDate });
      await web.redirectWith(ctx, `/policies/${itemId}`, { kind: 'success', message: '指标已登记' });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await detailPage(ctx, actor, itemId, { allocationErrors: err.fieldErrors, allocationValues: body }, 422);
    }
  });

  // --- public pages (no login) ------------------------------------------------------------------------------

  /** The county and year the public asked for (the only county when there is one), and all counties to choose from. */
  async function publicList(ctx: Context): Promise<{ county: Region | undefined; year: number; counties: Region[] }> {
    const query = validate(listQuerySchema, ctx.query);
    return { ...(await publicCounty(db, query.county)), year: query.year ?? businessYear() };
  }

  router.get('/public/policies', async (ctx) => {
    const { county, year, counties } = await publicList(ctx);
    if (!county) return web.render(ctx, 'policy/public.njk', { title: '惠民惠农财政补贴政策清单', counties });
    const list = (await policyList(db, county, year, { publicOnly: true })).map(presentVersion);
    web.render(ctx, 'policy/public.njk', {
      title: `${county.name}${year}年惠民惠农财政补贴政策清单`,
      county,
      year,
      groups: groupByDepartment(list),
      count: list.length,
      query: `county=${county.id}&year=${year}`,
    });
  });

  for (const [ext, type] of [
    ['pdf', 'application/pdf'],
    ['xlsx', XLSX_TYPE],
  ] as const) {
    router.get(`/public/policies.${ext}`, async (ctx) => {
      const { county, year } = await publicList(ctx);
      if (!county) throw new NotFoundError('请先选择县（区）');
      const doc = listDocument(county.name, year, businessDate(), await policyList(db, county, year, { publicOnly: true }));
      const body = ext === 'pdf' ? await writePolicyListPdf(doc) : await writePolicyListXlsx(doc);
      web.sendFile(ctx, `${county.name}${year}年惠民惠农财政补贴政策清单.${ext}`, type, body);
    });
  }
}
