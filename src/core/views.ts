import nunjucks from 'nunjucks';
import { appPath } from './app-root.ts';
import { formatDateTime } from './dates.ts';
import { formatYuan } from './money.ts';

const VIEWS_DIR = appPath('views');

/**
 * Nunjucks with autoescape on. Templates get view models from presenters, never raw rows; the filters here
 * only format (money in 元 from fen, Shanghai time), they decide nothing.
 */
export function createViews(options: { watch?: boolean } = {}): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR, { watch: options.watch ?? false, noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter('yuan', (fen: number) => formatYuan(fen));
  env.addFilter('datetime', (iso: string | null) => formatDateTime(iso));
  return env;
}
