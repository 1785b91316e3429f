import type Router from '@koa/router';
import { NotFoundError } from '../../core/errors.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { publicCounty } from '../../core/regions.ts';
import type { Web } from '../../core/web/web.ts';
import { presentNotice, presentPublicNotice } from './presenters.ts';
import { countyNotices, postingsOf, publicNotice, sheetsOfNotice } from './queries.ts';
import { noticesQuerySchema } from './notice-schemas.ts';

const PAGE_SIZE = 30;

/**
 * 公示公告 on the portal (no login): a county's notices in publicity now and the past ones, and each notice as it was
 * published — the subsidy, basis, period, each village's total with its sheet to check (masked as the county's
 * public rule says), where the paper was posted, and how to object.
 */
export function noticeRoutes(router: Router, web: Web): void {
  const { db } = web.core;

  router.get('/public/notices', async (ctx) => {
    const query = validate(noticesQuerySchema, ctx.query);
    const { county, counties } = await publicCounty(db, query.county);
    if (!county) return web.render(ctx, 'publicity/notices.njk', { title: '惠民惠农补贴公示公告', counties });
    const { rows, total } = await countyNotices(db, county.id, query.past ? 'past' : 'open', query.page, PAGE_SIZE);
    web.render(ctx, 'publicity/notices.njk', {
      title: `${county.name}惠民惠农补贴${query.past ? '往期公示' : '公示公告'}`,
      county,
      past: query.past,
      notices: rows.map(presentNotice),
      pager: { page: query.page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)), total, base: `county=${county.id}${query.past ? '&amp;past=1' : ''}` },
    });
  });

  router.get('/public/notices/:id', async (ctx) => {
    const notice = await publicNotice(db, requireId(ctx.params.id, '公示'));
    if (!notice) throw new NotFoundError('没有这个公示公告');
    const [published, postings] = await Promise.all([sheetsOfNotice(db, notice.id), postingsOf(db, [notice.id])]);
    web.render(ctx, 'publicity/notice.njk', { title: notice.title, ...presentPublicNotice(notice, published, postings) });
  });
}
