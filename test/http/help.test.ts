import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../seeds/demo.ts';
import { CHAPTERS, DOCS_DIR, MANUAL_IMG_DIR, SAMPLES_DIR, helpHref, loadManual, loadReferenceDocs } from '../../src/core/help.ts';
import { TEST_DB, type TestDb, agentFor, binaryParser, createSeededDb, login } from '../factories.ts';

/** The manual served as help pages (/help, /help/<chapter>, /help/img/<file>): issue 16 item 8. */
describe(`the help pages (${TEST_DB})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createSeededDb({ demo: true });
  });
  afterAll(async () => t?.cleanup());

  const manual = loadManual();
  const publicChapter = CHAPTERS.find((c) => c.public)!;
  const anImage = manual.chapters.get(publicChapter.slug)!.images[0]!;
  const staffImage = [...manual.chapters.values()].flatMap((c) => (c.public ? [] : c.images)).find((i) => !manual.publicImages.has(i))!;

  it('renders every chapter from docs/manual, raw HTML off, links between chapters rewritten, images sized and lazy', () => {
    expect([...manual.chapters.keys()]).toEqual(CHAPTERS.map((c) => c.slug));
    for (const chapter of manual.chapters.values()) {
      const doc = parse(chapter.html);
      expect(doc.querySelectorAll('h1').length, chapter.slug).toBe(1);
      for (const img of doc.querySelectorAll('img')) {
        expect(img.getAttribute('src'), chapter.slug).toMatch(/^\/help\/img\/[a-z0-9-]+\.png$/);
        expect(img.getAttribute('loading')).toBe('lazy');
        expect(Number(img.getAttribute('width'))).toBeGreaterThan(0);
        expect(Number(img.getAttribute('height'))).toBeGreaterThan(0);
        expect(img.getAttribute('alt'), chapter.slug).toBeTruthy();
      }
      for (const a of doc.querySelectorAll('a')) expect(a.getAttribute('href'), chapter.slug).not.toMatch(/\.md(#|$)/);
    }
    expect(manual.index.html).toContain('href="/help/township-station"');
    expect(helpHref('README.md')).toBe('/help');
    expect(helpHref('bank.md#x')).toBe('/help/bank#x');
    expect(helpHref('unknown.md')).toBe('unknown.md');
    expect(helpHref('https://example.org/a.md')).toBe('https://example.org/a.md');
  });

  it('keeps raw HTML in the Markdown as text', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-manual-'));
    fs.writeFileSync(path.join(dir, 'README.md'), '# 目录\n');
    fs.writeFileSync(path.join(dir, 'public.md'), '# 群众\n\n<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))\n');
    const html = loadManual(dir).chapters.get('public')!.html;
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain('&lt;script&gt;');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers /help and every chapter to each demo user, their own chapters listed first, with a 帮助 link in the header', async () => {
    for (const user of DEMO_USERS) {
      const agent = agentFor(t.core);
      await login(agent, user.username);
      const index = await agent.get('/help');
      expect(index.status, user.username).toBe(200);
      const doc = parse(index.text);
      expect(doc.querySelector('h1')?.text).toBe('操作手册');
      expect(doc.querySelector('header a.help')?.getAttribute('href')).toBe('/help');
      const first = doc.querySelector('main ul.manual-chapters a')?.getAttribute('href');
      expect(first, user.username).toBe(`/help/${CHAPTERS.find((c) => c.roles.includes(user.role))!.slug}`);
      for (const c of CHAPTERS) {
        const page = await agent.get(`/help/${c.slug}`);
        expect(page.status, `${user.username} ${c.slug}`).toBe(200);
        expect(page.text).toContain(`<h1>${manual.chapters.get(c.slug)!.title}</h1>`);
      }
    }
  });

  it('lets a visitor without login read the index and the citizens’ chapter, and sends them to log in for the others', async () => {
    const agent = agentFor(t.core);
    const index = await agent.get('/help');
    expect(index.status).toBe(200);
    expect(parse(index.text).querySelector('main ul.manual-chapters a')?.getAttribute('href')).toBe(`/help/${publicChapter.slug}`);
    const chapter = await agent.get(`/help/${publicChapter.slug}`);
    expect(chapter.status).toBe(200);
    expect(chapter.text).toContain(`<h1>${manual.chapters.get(publicChapter.slug)!.title}</h1>`);
    expect(parse(chapter.text).querySelector('header a.help')?.getAttribute('href')).toBe('/help');
    const staff = await agent.get('/help/township-station');
    expect(staff.status).toBe(303);
    expect(staff.headers.location).toBe('/login?next=%2Fhelp%2Ftownship-station');
    expect((await agent.get('/public/policies')).text).toContain('href="/help"');
  });

  it('answers 404 for an unknown chapter', async () => {
    const agent = agentFor(t.core);
    await login(agent, 'station1');
    for (const p of ['/help/nope', '/help/README', '/help/shots']) {
      const res = await agent.get(p);
      expect(res.status, p).toBe(404);
      expect(res.text).toContain('页面不存在');
    }
  });

  it('serves the screenshots as PNG with a cache header, the public chapter’s to anyone, the others only after login', async () => {
    const visitor = agentFor(t.core);
    const img = await visitor.get(`/help/img/${anImage}`).buffer(true).parse(binaryParser);
    expect(img.status).toBe(200);
    expect(img.headers['content-type']).toBe('image/png');
    expect(img.headers['cache-control']).toBe('private, max-age=86400');
    expect(Buffer.compare(img.body as Buffer, fs.readFileSync(path.join(MANUAL_IMG_DIR, anImage)))).toBe(0);
    expect((await visitor.get(`/help/img/${staffImage}`)).status).toBe(404);

    const agent = agentFor(t.core);
    await login(agent, 'auditor');
    const staff = await agent.get(`/help/img/${staffImage}`).buffer(true).parse(binaryParser);
    expect(staff.status).toBe(200);
    expect(staff.headers['content-type']).toBe('image/png');
    expect((await agent.get('/help/img/missing-shot.png')).status).toBe(404);
  });

  it('refuses path traversal and names outside the pattern', async () => {
    const agent = agentFor(t.core);
    await login(agent, 'station1');
    for (const p of ['/help/img/..%2f..%2fpackage.json', '/help/img/..%2F..%2F..%2Fpackage.json', '/help/img/%2e%2e%2fREADME.md', '/help/img/..%5c..%5cpackage.json', '/help/img/shots.json', '/help/img/.hidden.png', '/help/..%2fREADME']) {
      const res = await agent.get(p);
      expect(res.status, p).toBe(404);
      expect(res.text, p).not.toContain('"name": "ykt"');
    }
  });

  /** The file formats where users read them (issue 19 item 7): help pages, not paths in a repository. */
  const docs = loadReferenceDocs();
  const formatSlugs = fs.readdirSync(DOCS_DIR).filter((f) => f.endsWith('-format.md')).map((f) => f.slice(0, -3));

  it('serves every file format and the audit documents to anyone, links rewritten, each sample downloading its bytes', async () => {
    expect([...docs.keys()]).toEqual([...formatSlugs.sort(), 'audit-chain', 'audit-trail']);
    const visitor = agentFor(t.core);
    const index = parse((await visitor.get('/help/formats')).text);
    expect(index.querySelectorAll('main ul.manual-chapters a').map((a) => a.getAttribute('href'))).toEqual([...docs.keys()].map((slug) => `/help/formats/${slug}`));
    expect((await visitor.get('/help')).text).toContain('href="/help/formats"');
    let samples = 0;
    for (const doc of docs.values()) {
      const page = await visitor.get(`/help/formats/${doc.slug}`);
      expect(page.status, doc.slug).toBe(200);
      const html = parse(page.text);
      expect(html.querySelector('main h1')?.text, doc.slug).toBe(doc.title);
      // Screens are in Chinese: the title of every document served.
      expect(doc.title, doc.slug).toMatch(/[\u4e00-\u9fff]/);
      for (const a of html.querySelectorAll('main article a')) {
        const href = a.getAttribute('href')!;
        expect(href, doc.slug).not.toMatch(/\.md(#|$)|^samples\//);
        if (!href.startsWith('/help/formats/samples/')) continue;
        expect(a.hasAttribute('download'), href).toBe(true);
        expect(a.getAttribute('data-hx-boost'), href).toBe('false');
        const file = href.split('/').at(-1)!;
        const res = await visitor.get(href).buffer(true).parse(binaryParser);
        expect(res.status, href).toBe(200);
        expect(res.headers['content-disposition'], href).toBe(`attachment; filename*=UTF-8''${file}`);
        expect(Buffer.compare(res.body as Buffer, fs.readFileSync(path.join(SAMPLES_DIR, file))), href).toBe(0);
        samples++;
      }
    }
    expect(samples).toBeGreaterThanOrEqual(12);
    for (const p of ['/help/formats/architecture', '/help/formats/README', '/help/formats/samples/shots.json', '/help/formats/samples/..%2f..%2fpackage.json', '/help/formats/samples/unlisted.csv']) {
      expect((await visitor.get(p)).status, p).toBe(404);
    }
  });

  it('has no page, API description or command that sends a user to a path in the repository', async () => {
    const named: string[] = [];
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    for (const file of walk(path.join(import.meta.dirname, '../../views'))) if (/docs\/[\w-]+\.md/.test(fs.readFileSync(file, 'utf8'))) named.push(file);
    expect(named).toEqual([]);
    // The ykt command's help and messages (its code comments may name the documents for developers).
    const cli = fs.readFileSync(path.join(import.meta.dirname, '../../src/cli.ts'), 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l));
    expect(cli.filter((l) => /docs\/[\w-]+\.md/.test(l))).toEqual([]);
    const agent = agentFor(t.core);
    const openapi = (await agent.get('/api/v1/openapi.json')).text;
    expect(openapi).not.toMatch(/docs\/[\w-]+\.md/);
    expect(openapi).toContain('/help/formats/result-file-format');
  });
});
