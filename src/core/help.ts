import fs from 'node:fs';
import path from 'node:path';
import MarkdownIt, { type MarkdownIt as Markdown } from 'markdown-it';
import { appPath } from './app-root.ts';
import type { Role } from './auth/roles.ts';

/**
 * The manual (docs/manual/, one Markdown chapter per role and one for citizens) served as help pages: the chapters,
 * their Markdown rendered with raw HTML off, links between chapters rewritten to /help/<chapter>, images to
 * /help/img/<file> with their size and lazy loading. No business rule here: the text is the manual's.
 */
export const MANUAL_DIR = appPath('docs', 'manual');
export const MANUAL_IMG_DIR = path.join(MANUAL_DIR, 'img');

/** A screenshot's file name: lower-case letters, digits and dashes, .png. Nothing else is ever read from img/. */
export const IMAGE_NAME = /^[a-z0-9][a-z0-9-]{0,80}\.png$/;

export interface ChapterDef {
  slug: string;
  /** The roles whose users find this chapter first on /help. */
  roles: readonly Role[];
  /** Readable without logging in (the citizens' chapter). */
  public?: boolean;
}

/** The chapters, in the order of the flow; each is docs/manual/<slug>.md. */
export const CHAPTERS: readonly ChapterDef[] = [
  { slug: 'township-station', roles: ['township_station'] },
  { slug: 'township-finance', roles: ['township_finance'] },
  { slug: 'department', roles: ['department'] },
  { slug: 'finance-section', roles: ['finance_section'] },
  { slug: 'treasury', roles: ['treasury'] },
  { slug: 'bank', roles: ['bank'] },
  { slug: 'supervisor', roles: ['supervisor'] },
  { slug: 'auditor', roles: ['auditor'] },
  { slug: 'admin', roles: ['admin'] },
  { slug: 'public', roles: [], public: true },
];

export interface Chapter extends ChapterDef {
  title: string;
  html: string;
  /** The images it shows (file names in img/). */
  images: string[];
}

export interface Manual {
  /** README.md: who uses which chapter (its html without the title, which the index page shows above its lists). */
  index: { title: string; html: string };
  chapters: Map<string, Chapter>;
  /** Images any visitor may load: those of the public chapters. */
  publicImages: Set<string>;
}

/** Width and height of a PNG from its IHDR chunk, or null when the file is not one. */
export function pngSize(file: string): { width: number; height: number } | null {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(24);
      if (fs.readSync(fd, head, 0, 24, 0) < 24 || head.readUInt32BE(0) !== 0x89504e47 || head.toString('latin1', 12, 16) !== 'IHDR') return null;
      return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

const CHAPTER_LINK = /^(?:\.\/)?([A-Za-z][\w-]*)\.md(#[\w\-\u4e00-\u9fff%]*)?$/;
const IMAGE_LINK = /^(?:\.\/)?img\/([^/]+)$/;

/** The address a link of the manual points to: a chapter's help page, the index, or the link unchanged. */
export function helpHref(href: string): string {
  const m = CHAPTER_LINK.exec(href);
  if (!m) return href;
  if (m[1] === 'README') return `/help${m[2] ?? ''}`;
  return CHAPTERS.some((c) => c.slug === m[1]) ? `/help/${m[1]}${m[2] ?? ''}` : href;
}

/** Tables look like the platform's own (static/app.css .data), and a wide one scrolls by itself on a phone, not the page. */
function tableRules(md: Markdown): void {
  md.renderer.rules.table_open = (tokens, idx, options, _env, self) => {
    tokens[idx]!.attrSet('class', 'data');
    return `<div class="table-scroll">${self.renderToken(tokens, idx, options)}`;
  };
  md.renderer.rules.table_close = (tokens, idx, options, _env, self) => `${self.renderToken(tokens, idx, options)}</div>`;
}

function renderer(dir: string, images: string[]): Markdown {
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
  const defaultLink = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const href = token.attrGet('href');
    if (href) token.attrSet('href', helpHref(String(href)));
    return defaultLink(tokens, idx, options, env, self);
  };
  tableRules(md);
  md.renderer.rules.image = (tokens, idx, options, _env, self) => {
    const token = tokens[idx]!;
    const src = String(token.attrGet('src') ?? '');
    const m = IMAGE_LINK.exec(src);
    if (m && IMAGE_NAME.test(m[1]!)) {
      images.push(m[1]!);
      token.attrSet('src', `/help/img/${m[1]}`);
      const size = pngSize(path.join(dir, 'img', m[1]!));
      if (size) {
        token.attrSet('width', String(size.width));
        token.attrSet('height', String(size.height));
      }
      token.attrSet('loading', 'lazy');
      token.attrSet('decoding', 'async');
    }
    token.attrSet('alt', self.renderInlineAsText(token.children ?? [], options, _env));
    return self.renderToken(tokens, idx, options);
  };
  return md;
}

/** A chapter's title: its first level-one heading. */
function titleOf(source: string, fallback: string): string {
  const m = /^#\s+(.+)$/m.exec(source);
  return m ? m[1]!.trim() : fallback;
}

/** Read and render the manual from a directory (docs/manual by default). */
export function loadManual(dir = MANUAL_DIR): Manual {
  const chapters = new Map<string, Chapter>();
  const publicImages = new Set<string>();
  for (const def of CHAPTERS) {
    const file = path.join(dir, `${def.slug}.md`);
    if (!fs.existsSync(file)) continue;
    const source = fs.readFileSync(file, 'utf8');
    const images: string[] = [];
    const html = renderer(dir, images).render(source);
    chapters.set(def.slug, { ...def, title: titleOf(source, def.slug), html, images });
    if (def.public) for (const image of images) publicImages.add(image);
  }
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  // The index page writes its own heading above the reader's chapters: the README's body follows without its title.
  const body = renderer(dir, []).render(readme).replace(/^<h1>.*?<\/h1>\n?/, '');
  return { index: { title: titleOf(readme, '操作手册'), html: body }, chapters, publicImages };
}

let cached: Manual | null = null;
/** The manual of this deployment, read once per process (it changes only with a new version). */
export function manual(): Manual {
  cached ??= loadManual();
  return cached;
}

/**
 * The documents of the files the platform exchanges and of what auditors verify, served as help pages at
 * /help/formats/<slug> to anyone (a bank's or a department's IT reads them before it has an account): the file
 * formats (docs/*-format.md) and the documents that pages and the API name beside them. Their samples
 * (docs/samples/) download from /help/formats/samples/<file>.
 */
export const DOCS_DIR = path.dirname(MANUAL_DIR);
export const SAMPLES_DIR = path.join(DOCS_DIR, 'samples');
/** Besides the formats: what auditors verify and search. (The other documents of docs/ are the developers', in English.) */
const REFERENCE_EXTRA = ['audit-chain', 'audit-trail'];

/** A sample's file name: lower-case letters, digits and dashes, a data file's extension. Nothing else is read from samples/. */
export const SAMPLE_NAME = /^[a-z0-9][a-z0-9-]{0,80}\.(csv|txt|xlsx)$/;
const SAMPLE_LINK = /^(?:\.\/)?samples\/([^/#?]+)$/;
const DOC_LINK = /^(?:\.\/)?([a-z][a-z0-9-]*)\.md(#[\w\-\u4e00-\u9fff%]*)?$/;

export interface ReferenceDoc {
  slug: string;
  title: string;
  html: string;
  /** The samples it links to (file names in samples/). */
  samples: string[];
}

/** The slugs served: every *-format.md of `dir`, then the others named above, in name order each. */
function referenceSlugs(dir: string): string[] {
  const formats = fs.readdirSync(dir).flatMap((f) => (/^[a-z0-9-]+-format\.md$/.test(f) ? [f.slice(0, -3)] : [])).sort();
  return [...formats, ...REFERENCE_EXTRA.filter((s) => fs.existsSync(path.join(dir, `${s}.md`)))];
}

/**
 * Markdown of a reference document rendered with raw HTML off: links to a served document become its help page,
 * links to a sample download it, links to anything else of the repository keep only their text.
 */
function referenceRenderer(served: ReadonlySet<string>, samples: string[]): Markdown {
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
  tableRules(md);
  md.core.ruler.push('reference_links', (state) => {
    for (const block of state.tokens) {
      if (!block.children) continue;
      const kept = [];
      let dropping = 0;
      for (const token of block.children) {
        if (token.type === 'link_open') {
          const href = String(token.attrGet('href') ?? '');
          const sample = SAMPLE_LINK.exec(href);
          const doc = DOC_LINK.exec(href);
          if (sample && SAMPLE_NAME.test(sample[1]!)) {
            samples.push(sample[1]!);
            token.attrSet('href', `/help/formats/samples/${sample[1]}`);
            token.attrSet('download', '');
            token.attrSet('data-hx-boost', 'false');
          } else if (doc && served.has(doc[1]!)) {
            token.attrSet('href', `/help/formats/${doc[1]}${doc[2] ?? ''}`);
          } else if (!/^(https?:|mailto:|#)/.test(href)) {
            dropping++;
            continue;
          }
        } else if (token.type === 'link_close' && dropping) {
          dropping--;
          continue;
        }
        kept.push(token);
      }
      block.children = kept;
    }
  });
  return md;
}

/** Read and render the reference documents of `dir` (docs/ by default). */
export function loadReferenceDocs(dir = DOCS_DIR): Map<string, ReferenceDoc> {
  const slugs = referenceSlugs(dir);
  const served = new Set(slugs);
  const docs = new Map<string, ReferenceDoc>();
  for (const slug of slugs) {
    const source = fs.readFileSync(path.join(dir, `${slug}.md`), 'utf8');
    const samples: string[] = [];
    const html = referenceRenderer(served, samples).render(source);
    docs.set(slug, { slug, title: titleOf(source, slug), html, samples });
  }
  return docs;
}

let cachedDocs: Map<string, ReferenceDoc> | null = null;
/** The reference documents of this deployment, read once per process. */
export function referenceDocs(): Map<string, ReferenceDoc> {
  cachedDocs ??= loadReferenceDocs();
  return cachedDocs;
}
