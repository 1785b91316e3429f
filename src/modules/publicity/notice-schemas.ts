import { z } from 'zod';
import { id, optional, page } from '../../core/fields.ts';

/** The portal's list of notices: the county, those in publicity now or the past ones, the page. */
export const noticesQuerySchema = z.object({
  county: optional(id('县（区）')),
  past: z.preprocess((v) => v === '1', z.boolean()),
  page,
});
