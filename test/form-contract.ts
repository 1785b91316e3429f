import type http from 'node:http';
import zlib from 'node:zlib';
import { parse } from 'node-html-parser';

/**
 * The form contract (docs/architecture.md, "Forms"), checked on every 422 page the suite produces through agentFor:
 * the title starts with 错误：, an error summary is at the top, every link in it targets an element of the page, and
 * every field marked invalid says why beside it (aria-describedby naming elements that exist).
 */
export function formContractProblems(html: string): string[] {
  const page = parse(html);
  const problems: string[] = [];
  const title = page.querySelector('title')?.text.trim() ?? '';
  if (!title.startsWith('错误：')) problems.push(`title does not start with 错误：(${title})`);
  const summaries = page.querySelectorAll('.error-summary');
  if (summaries.length === 0) problems.push('no error summary');
  const ids = new Set(page.querySelectorAll('[id]').map((e) => e.id));
  for (const a of summaries.flatMap((s) => s.querySelectorAll('a[href^="#"]'))) {
    const target = a.getAttribute('href')!.slice(1);
    if (!ids.has(target)) problems.push(`summary link #${target} targets nothing on the page`);
  }
  for (const field of page.querySelectorAll('[aria-invalid="true"]')) {
    const described = (field.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
    if (described.length === 0) problems.push(`invalid field ${field.getAttribute('name')} has no message beside it`);
    for (const id of described) if (!ids.has(id)) problems.push(`field ${field.getAttribute('name')} is described by #${id}, which does not exist`);
  }
  return problems;
}

const violations: string[] = [];

/** Watch a response: a 422 HTML page is checked against the contract when it ends. */
export function watchFormContract(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (chunk) chunks.push(Buffer.from(chunk as Buffer));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as Buffer));
    if (res.statusCode === 422 && String(res.getHeader('Content-Type') ?? '').includes('text/html')) {
      const raw = Buffer.concat(chunks);
      const encoding = String(res.getHeader('Content-Encoding') ?? '');
      const body = encoding === 'gzip' ? zlib.gunzipSync(raw) : encoding === 'deflate' ? zlib.inflateSync(raw) : encoding === 'br' ? zlib.brotliDecompressSync(raw) : raw;
      for (const problem of formContractProblems(body.toString('utf8'))) violations.push(`${req.method} ${req.url}: ${problem}`);
    }
    return (end as (...a: unknown[]) => http.ServerResponse)(chunk, ...rest);
  }) as typeof res.end;
}

/** The violations seen since the last call (test/setup.ts asserts none after each test). */
export function takeFormContractViolations(): string[] {
  return violations.splice(0);
}
