import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../auth/roles.ts';
import { ALLOWED, authorize, refused } from '../authz.ts';
import { type ColumnMappingKind, type ColumnMappingOffer, MAPPED_HEADER_MAX, columnMappingOffer, columnMappingsOf, deleteColumnMapping, mappedHeader, saveColumnMapping } from '../column-mapping.ts';
import { formatDateTime } from '../dates.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { parseId } from '../http/validate.ts';
import { type Web, safeNext } from './web.ts';

/** A JSON list of texts from a hidden field, or null when it is not one. */
function textList(value: unknown, max: number): string[] | null {
  try {
    const list = JSON.parse(String(value ?? '')) as unknown;
    if (!Array.isArray(list) || list.length === 0 || list.length > max || !list.every((t) => typeof t === 'string')) return null;
    return list as string[];
  } catch {
    return null;
  }
}

/**
 * The 列对应关系 page: a region's kept column mappings of the kinds of file its user may map (each module's
 * AppModule.columnMappings, decided by its `can`), their deletion, and the saving of the form a refused upload offers
 * (core/column-mapping.ts).
 */
export function columnMappingRoutes(router: Router, web: Web, kinds: ColumnMappingKind[]): void {
  const { db } = web.core;
  const mayAny = (actor: Actor) => (kinds.some((k) => k.may(actor).ok) ? ALLOWED : refused('role', '导入列对应关系由上传该类文件的人员设置'));
  const kindOf = (code: unknown) => kinds.find((k) => k.kind === code);

  async function page(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const mine = kinds.filter((k) => k.may(actor).ok);
    const rows = await columnMappingsOf(db, actor.regionId, mine.map((k) => k.kind));
    web.render(
      ctx,
      'core/column-mappings.njk',
      {
        title: '导入列对应关系',
        groups: mine.map((k) => ({
          label: k.label,
          uploadHref: k.uploadHref,
          rows: rows.filter((r) => r.file_kind === k.kind).map((r) => ({ id: r.id, column: r.column_name, header: r.header_text, by: r.saved_by_name ?? '', at: formatDateTime(r.saved_at) })),
        })),
        ...extra,
      },
      status,
    );
  }

  router.get('/column-mappings', async (ctx) => page(ctx, await web.permit(ctx, mayAny)));

  router.post('/column-mappings', async (ctx) => {
    const actor = await web.permit(ctx, mayAny);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const kind = kindOf(body.kind);
    if (!kind) throw new NotFoundError('没有这种可设置列对应关系的文件');
    await authorize(db, actor, kind.may(actor), { objectType: 'page', objectId: ctx.path });
    // The form's choices, carried by its hidden fields: the kind's own columns, the file's header texts.
    const missing = textList(body.missing, kind.columns.length);
    const headers = textList(body.headers, 200)?.map(mappedHeader);
    let offer: ColumnMappingOffer | null = null;
    if (missing && headers && missing.every((c) => kind.columns.includes(c)) && headers.every((h) => h !== '' && [...h].length <= MAPPED_HEADER_MAX)) {
      const back = typeof body.back === 'string' && body.back !== '' && safeNext(body.back) === body.back ? body.back : null;
      offer = columnMappingOffer(kind, actor, { missing, unknown: headers }, back);
    }
    await web.formStep(
      ctx,
      offer?.back ?? kind.uploadHref,
      async () => {
        if (!offer) throw new ConflictError('表单内容无效或已过期：请重新上传文件，在退回页面上设置列对应关系');
        const chosen: Record<string, string> = {};
        const errors: Record<string, string> = {};
        const taken = new Map<string, string>();
        for (const { index, column } of offer.missing) {
          const value = String(body[`m${index}`] ?? '');
          if (value === '') continue;
          if (!offer.headers.includes(value)) errors[`m${index}`] = '请从列表中选择文件中的表头';
          else if (taken.has(value)) errors[`m${index}`] = `「${value}」已选作「${taken.get(value)}」：一个表头只能对应一列`;
          else {
            taken.set(value, column);
            chosen[column] = value;
          }
        }
        if (Object.keys(errors).length) throw new ValidationError(errors);
        if (Object.keys(chosen).length === 0) throw new ValidationError({ m0: '请至少为一列选择文件中对应的表头' });
        await saveColumnMapping(db, actor, kind, chosen);
        const summary = Object.entries(chosen).map(([column, header]) => `「${column}」←「${header}」`).join('、');
        return `已保存“${kind.label}”的列对应关系：${summary}。请重新上传文件`;
      },
      (extra, status) => page(ctx, actor, { ...extra, offer }, status),
    );
  });

  router.post('/column-mappings/:id/delete', async (ctx) => {
    const actor = await web.permit(ctx, mayAny);
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('该列对应关系不存在或已删除');
    const row: { file_kind: string } | undefined = await db('core_column_mapping').where({ id, region_id: actor.regionId }).first('file_kind');
    const kind = row ? kindOf(row.file_kind) : undefined;
    if (!kind) throw new NotFoundError('该列对应关系不存在或已删除');
    await authorize(db, actor, kind.may(actor), { objectType: 'column_mapping', objectId: id });
    await deleteColumnMapping(db, actor, kind, id);
    await web.redirectWith(ctx, '/column-mappings', { kind: 'success', message: '已删除该列对应关系，此后按平台列名和常见写法识别' });
  });
}
