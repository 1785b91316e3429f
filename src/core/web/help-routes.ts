import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type { Actor } from '../auth/roles.ts';
import { hasRole } from '../auth/roles.ts';
import { NotFoundError } from '../errors.ts';
import { type Chapter, IMAGE_NAME, MANUAL_IMG_DIR, SAMPLES_DIR, SAMPLE_NAME, manual, referenceDocs } from '../help.ts';
import type { Web } from './web.ts';

/**
 * The help pages: the manual (docs/manual/) at /help, each chapter at /help/<chapter>, its screenshots at
 * /help/img/<file>; the file formats and reference documents (docs/) at /help/formats/<slug>, their samples at
 * /help/formats/samples/<file>. Open without a session (session-middleware lists /help): a visitor reads the index,
 * the citizens' chapter and its images, and every format; the staff chapters ask for a login first.
 */
export function helpRoutes(router: Router, web: Web): void {
  router.get('/help', (ctx) => {
    const actor = ctx.state.actor as Actor | undefined;
    const { index, chapters } = manual();
    const all = [...chapters.values()];
    const mine = actor ? all.filter((c) => c.roles.some((r) => hasRole(actor, r))) : all.filter((c) => c.public);
    const others = all.filter((c) => !mine.includes(c));
    web.render(ctx, 'core/help-index.njk', { title: index.title, html: index.html, mine: mine.map(link), others: others.map(link), loggedIn: Boolean(actor) });
  });

  router.get('/help/img/:file', async (ctx) => {
    const file = String(ctx.params.file);
    const actor = ctx.state.actor as Actor | undefined;
    if (!IMAGE_NAME.test(file) || (!actor && !manual().publicImages.has(file))) throw new NotFoundError('图片不存在');
    const body = await readOr404(path.join(MANUAL_IMG_DIR, file), '图片不存在');
    ctx.type = 'image/png';
    ctx.set('Cache-Control', 'private, max-age=86400');
    ctx.body = body;
  });

  router.get('/help/formats', (ctx) => {
    const docs = [...referenceDocs().values()].map((d) => ({ href: `/help/formats/${d.slug}`, title: d.title, format: d.slug.endsWith('-format') }));
    web.render(ctx, 'core/help-formats.njk', { title: '文件格式与说明', formats: docs.filter((d) => d.format), others: docs.filter((d) => !d.format) });
  });

  router.get('/help/formats/samples/:file', async (ctx) => {
    const file = String(ctx.params.file);
    if (!SAMPLE_NAME.test(file) || ![...referenceDocs().values()].some((d) => d.samples.includes(file))) throw new NotFoundError('样例文件不存在');
    web.sendFile(ctx, file, SAMPLE_TYPES[path.extname(file)]!, await readOr404(path.join(SAMPLES_DIR, file), '样例文件不存在'));
  });

  router.get('/help/formats/:slug', (ctx) => {
    const doc = referenceDocs().get(String(ctx.params.slug));
    if (!doc) throw new NotFoundError('没有这份说明');
    web.render(ctx, 'core/help-format.njk', { title: doc.title, html: doc.html });
  });

  router.get('/help/:chapter', (ctx) => {
    const chapter = manual().chapters.get(String(ctx.params.chapter));
    if (!chapter) throw new NotFoundError('没有这一章');
    if (!chapter.public && !ctx.state.actor) {
      ctx.status = 303;
      return ctx.redirect(`/login?next=${encodeURIComponent(ctx.path)}`);
    }
    web.render(ctx, 'core/help.njk', { title: chapter.title, html: chapter.html });
  });
}

/** A file of the documentation, or 404 with `message` when it cannot be read. */
async function readOr404(file: string, message: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch {
    throw new NotFoundError(message);
  }
}

/** The samples' types by extension (SAMPLE_NAME allows these alone). */
const SAMPLE_TYPES: Record<string, string> = {
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

function link(c: Chapter): { href: string; title: string } {
  return { href: `/help/${c.slug}`, title: c.title };
}
