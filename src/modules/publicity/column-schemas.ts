import { z } from 'zod';
import { id, optional } from '../../core/fields.ts';

const year = z.coerce.number({ error: '年度应为年份' }).int({ error: '年度应为年份' }).min(2000, { error: '年度应在 2000 到 2100 之间' }).max(2100, { error: '年度应在 2000 到 2100 之间' });

/** The column's query string: the county, the year of a yearly page, the township or village of a ledger's drill-down. */
export const columnQuerySchema = z.object({
  county: optional(id('县（区）')),
  year: optional(year),
  township: optional(id('乡镇（街道）')),
  village: optional(id('村（社区）')),
});

/** An open-data file: a dataset's name and .csv or .json. */
export const dataFileSchema = z.object({
  file: z
    .string()
    .regex(/^[a-z][a-z-]{0,40}\.(csv|json)$/, { error: '数据文件应为 数据集名称.csv 或 数据集名称.json' })
    .transform((f) => ({ name: f.replace(/\.(csv|json)$/, ''), format: f.endsWith('.json') ? ('json' as const) : ('csv' as const) })),
}).transform((v) => v.file);
