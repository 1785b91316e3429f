import type { Core } from '../src/core/context.ts';
import { startOfBusinessDateIso } from '../src/core/dates.ts';
import { type SheetContent, sheetDigest } from '../src/modules/publicity/model.ts';

/**
 * Demo time for a published notice: the seed publishes today and moves the period into the past (demo-batch.ts), so
 * the notice, its publication time and the sheets produced with it move too (their content prints the period, so
 * their digests are recomputed), and the station's postings are recorded on the first day: each village's board and
 * the township's. What the portal and a printed sheet's check then show is what a real week of publicity leaves.
 */
export async function movePublication(core: Core, noticeId: number, period: { start: string; end: string }): Promise<void> {
  await core.db.transaction(async (trx) => {
    const notice = await trx('publicity_notice').where({ id: noticeId }).first('published_by');
    await trx('publicity_notice').where({ id: noticeId }).update({ publicity_start: period.start, publicity_end: period.end, published_at: startOfBusinessDateIso(period.start) });
    const sheets: { id: number; village_id: number; content: string }[] = await trx('publicity_sheet').where({ notice_id: noticeId }).select('id', 'village_id', 'content');
    for (const sheet of sheets) {
      const content: SheetContent = { ...(JSON.parse(sheet.content) as SheetContent), publicityStart: period.start, publicityEnd: period.end };
      await trx('publicity_sheet').where({ id: sheet.id }).update({ content: JSON.stringify(content), digest: sheetDigest(content), created_at: startOfBusinessDateIso(period.start) });
      if (sheet.village_id === 0) {
        await trx('publicity_notice').where({ id: noticeId }).update({ digest: sheetDigest(content) });
      }
      const place = sheet.village_id === 0 ? 'township_board' : 'village_board';
      await trx('publicity_posting').insert({ notice_id: noticeId, place, village_id: sheet.village_id, location: '', posted_on: period.start, recorded_by: notice.published_by, recorded_at: startOfBusinessDateIso(period.start) });
    }
  });
}
