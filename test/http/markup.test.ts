import { parse } from 'node-html-parser';
import { afterEach, describe, expect, it } from 'vitest';
import type TestAgent from 'supertest/lib/agent.js';
import { DEMO_USERS } from '../../seeds/demo.ts';
import { TEST_DB, type TestDb, agentFor, createSeededDb, login } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** An address that names a file: an extension, or a payout file's format (…/csv, …/csv-gb18030/sm3). */
const FILE_HREF = /\.(pdf|xlsx|xls|csv|txt|json|zip)(\?|$)|\/(csv|csv-gb\d+|xlsx|txt|sm3)(\?|$)/;
/** How far from its first page a role's crawl follows links. */
const MAX_DEPTH = 3;

/** Pages of one kind (the same path but for its numbers, the same query keys) are read once. */
function kindOf(url: URL): string {
  return `${url.pathname.replace(/\d+/g, 'N')}?${[...url.searchParams.keys()].sort().join('&')}`;
}

interface Anchor {
  page: string;
  href: string;
  download: boolean;
  unboosted: boolean;
}

/**
 * Read every kind of page reachable from `start` (links followed MAX_DEPTH deep; every kind of address a page links
 * to is fetched once, so that a file is known by its Content-Disposition). Returns the problems found.
 */
async function crawl(agent: TestAgent, start: string[]): Promise<{ problems: string[]; pages: number; files: string[] }> {
  const problems: string[] = [];
  const isFile = new Map<string, boolean>();
  const anchors: Anchor[] = [];
  const queue = start.map((href) => ({ url: new URL(href, 'http://ykt.test'), depth: 0 }));
  let pages = 0;
  while (queue.length) {
    const { url, depth } = queue.shift()!;
    const kind = kindOf(url);
    if (isFile.has(kind)) continue;
    const where = url.pathname + url.search;
    const res = await agent.get(where).buffer(true);
    const attachment = /^attachment/.test(String(res.headers['content-disposition'] ?? ''));
    isFile.set(kind, attachment);
    if (attachment || res.status !== 200 || !String(res.headers['content-type']).startsWith('text/html')) continue;
    pages++;
    const html = parse(res.text);
    for (const el of html.querySelectorAll('*')) {
      for (const name of Object.keys(el.attributes)) if (name.startsWith('hx-')) problems.push(`${where}: ${name} 应写作 data-${name}`);
    }
    const ids = html.querySelectorAll('[id]').map((el) => el.id);
    for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`${where}: id="${id}" 出现不止一次`);
    for (const a of html.querySelectorAll('a[href]')) {
      const raw = a.getAttribute('href')!.replaceAll('&amp;', '&');
      if (raw.startsWith('#')) continue;
      const target = new URL(raw, url);
      if (target.origin !== url.origin) continue;
      anchors.push({ page: where, href: target.pathname + target.search, download: a.hasAttribute('download'), unboosted: a.getAttribute('data-hx-boost') === 'false' });
      if (!isFile.has(kindOf(target)) && (depth < MAX_DEPTH || FILE_HREF.test(raw))) queue.push({ url: target, depth: depth + 1 });
    }
  }
  const files = new Set<string>();
  for (const a of anchors) {
    const target = new URL(a.href, 'http://ykt.test');
    if (!FILE_HREF.test(a.href) && !isFile.get(kindOf(target))) continue;
    files.add(kindOf(target));
    if (!a.download || !a.unboosted) problems.push(`${a.page}: 文件链接 ${a.href} 须带 download 与 data-hx-boost="false"`);
  }
  return { problems: [...new Set(problems)], pages, files: [...files] };
}

describe(`page markup (${TEST_DB})`, () => {
  it('on every kind of page each role reaches: htmx attributes only as data-hx-*, no id twice, every file link a download that htmx leaves alone', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const files = new Set<string>();
    for (const username of [null, ...DEMO_USERS.map((u) => u.username)]) {
      const agent = agentFor(t.core);
      if (username) await login(agent, username);
      const found = await crawl(agent, username ? ['/'] : ['/login', '/public/policies', '/public/failed-payments']);
      expect(found.problems, username ?? '未登录').toEqual([]);
      expect(found.pages, username ?? '未登录').toBeGreaterThan(username ? 5 : 2);
      for (const f of found.files) files.add(f);
    }
    // The crawl reached the file links of the public list, the policy export, the payout files and the import template.
    expect([...files]).toEqual(
      expect.arrayContaining(['/public/policies.pdf?county&year', '/public/policies.xlsx?county&year', '/policies/export.xlsx?', '/bank/payouts/N/xlsx?', '/bank/payouts/N/csv/smN?', '/beneficiaries/import/template.xlsx?']),
    );
  });
});
