import fs from 'node:fs';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { businessDate, formatDateTime } from '../../core/dates.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import type { Web } from '../../core/web/web.ts';
import { exportSchema } from './export-schemas.ts';
import { EXPORT_STATES, type ExportRow, type Manifest, exportDownload, exportFileName, exportFor, exportsInScope, requestExport } from './exports.ts';
import { can } from './policy.ts';

/** A zip's size for people: 1.2 MB, 35 KB. */
const size = (bytes: number | string | null) => (bytes === null ? '' : Number(bytes) >= 1048576 ? `${(Number(bytes) / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(Number(bytes) / 1024))} KB`);

function presentExport(r: ExportRow & { requester: string | null }, actor: Actor) {
  return {
    id: r.id,
    href: `/supervision/exports/${r.id}`,
    period: `${r.period_from} 至 ${r.period_to}`,
    clear: Boolean(r.in_clear),
    reason: r.reason ?? '',
    requester: r.requester ?? '',
    state: r.state,
    stateLabel: EXPORT_STATES[r.state],
    progress: `${r.files_done}/${r.files_total} 个文件，${r.rows_done} 行`,
    createdAt: formatDateTime(r.created_at),
    finishedAt: formatDateTime(r.finished_at),
    size: size(r.size_bytes),
    sm3: r.sm3 ?? '',
    error: r.error ?? '',
    fileName: exportFileName(r),
    canDownload: r.state === 'done' && can(actor, 'download_export', r).ok,
  };
}

/**
 * 完整导出 (Chongqing 十一): the list of the scope's exports with the form to ask for one, and each export's page with
 * its progress (a plain refresh, or htmx polling every 5 s while it is queued or running), manifest and download.
 */
export function exportRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  async function listPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const today = businessDate();
    web.render(
      ctx,
      'supervision/exports.njk',
      {
        title: '完整导出',
        rows: (await exportsInScope(db, actor)).map((r) => presentExport(r, actor)),
        mayClear: can(actor, 'request_export', { inClear: true }).ok,
        errors: {},
        values: { from: `${today.slice(0, 4)}-01-01`, to: `${today.slice(0, 4)}-12-31` },
        ...extra,
      },
      status,
    );
  }

  router.get('/supervision/exports', async (ctx) => listPage(ctx, await web.permit(ctx, (a) => can(a, 'view_exports', null))));

  router.post('/supervision/exports', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_exports', null));
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await web.formStep(
      ctx,
      '/supervision/exports',
      async () => {
        const { id, existing } = await requestExport(web.core, actor, validate(exportSchema, body));
        return { to: `/supervision/exports/${id}`, message: existing ? '相同的导出正在排队或生成中，未重复申请' : '已申请，正在后台排队生成；本页显示进度' };
      },
      (extra, status) => listPage(ctx, actor, { ...extra, values: { ...body, _csrf: undefined } }, status),
    );
  });

  router.get('/supervision/exports/:id', async (ctx) => {
    const actor = web.actor(ctx);
    const row = await exportFor(web.core, actor, requireId(ctx.params.id, '导出'));
    const manifest = row.manifest ? (JSON.parse(row.manifest) as Manifest) : null;
    const data = {
      title: `完整导出 #${row.id}`,
      e: presentExport(row, actor),
      files: (manifest?.files ?? []).map((f) => ({ ...f, totals: Object.entries(f.totals_fen).map(([k, v]) => `${k}：${formatYuan(v)} 元（${v} 分）`) })),
      polling: row.state === 'queued' || row.state === 'running',
    };
    // htmx polling asks for the progress block alone.
    if (ctx.get('HX-Target') === 'export-progress') return web.render(ctx, 'supervision/_export-progress.njk', data);
    web.render(ctx, 'supervision/export.njk', data);
  });

  router.get('/supervision/exports/:id/download', async (ctx) => {
    const actor = web.actor(ctx);
    const { fileName, file, size: bytes } = await exportDownload(web.core, actor, requireId(ctx.params.id, '导出'));
    ctx.type = 'application/zip';
    ctx.set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`);
    ctx.length = bytes;
    ctx.body = fs.createReadStream(file);
  });
}
