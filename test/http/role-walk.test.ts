import { type HTMLElement, parse } from 'node-html-parser';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { businessDate } from '../../src/core/dates.ts';
import { DEMO_USERS } from '../../seeds/demo.ts';
import { TEST_DB, type TestDb, agentFor, createSeededDb, login } from '../factories.ts';

/**
 * Every demo role walks the pages it can reach from its home page and submits every kind of form those pages
 * offer, with plausible values. A page offers only the steps its user can take (each module's can()), so no link
 * and no form may answer 403; none may answer 500 either. Refusals of what was typed (422) and conflicts (409) are
 * fine: they are the form's own answers.
 */

/** Links that are not pages of the walk: files, logging out, another site. */
const NOT_A_PAGE = /\.(pdf|xlsx|csv|txt|json)(\?|$)|^\/(downloads|logout|static|api)\b|[?&]format=/;
/** The same page for another record or page number: a few of each shape are enough. */
const shapeOf = (path: string) => path.replace(/\d+/g, 'N');
const PER_SHAPE = 2;
const MAX_PAGES = 60;

interface Form {
  page: string;
  action: string;
  fields: Record<string, string>;
  multipart: boolean;
  /** The fields a person types or chooses (not hidden, not a box to tick). */
  typed: string[];
}

/** What a person would type into each kind of field, so that the request gets past validation to the command. */
function plausible(input: HTMLElement): string | null {
  const type = (input.getAttribute('type') ?? 'text').toLowerCase();
  const value = input.getAttribute('value');
  if (type === 'file' || type === 'submit' || type === 'button') return null;
  // As a browser sends them: only ticked boxes (a list of people to tick is left as the page had it).
  if (type === 'checkbox' || type === 'radio') return input.hasAttribute('checked') ? (value ?? 'on') : null;
  if (value) return value;
  if (type === 'date') return businessDate();
  if (type === 'number') return '1';
  const name = input.getAttribute('name') ?? '';
  if (/date/i.test(name) || /(On|Start|End)$/.test(name)) return businessDate();
  if (/amount/i.test(name)) return '1.00';
  return '核实无误';
}

function formsOf(page: string, html: HTMLElement): Form[] {
  return html.querySelectorAll('form').flatMap((form) => {
    if ((form.getAttribute('method') ?? 'get').toLowerCase() !== 'post') return [];
    const action = form.getAttribute('action') ?? page;
    if (NOT_A_PAGE.test(action)) return [];
    const fields: Record<string, string> = {};
    const typed: string[] = [];
    for (const input of form.querySelectorAll('input, textarea, select')) {
      const name = input.getAttribute('name');
      if (!name || name in fields) continue;
      if (!['hidden', 'checkbox', 'radio', 'file'].includes((input.getAttribute('type') ?? '').toLowerCase())) typed.push(name);
      const value = input.tagName === 'SELECT' ? (input.querySelectorAll('option').find((o) => o.getAttribute('value'))?.getAttribute('value') ?? '') : input.tagName === 'TEXTAREA' ? '核实无误' : plausible(input);
      if (value !== null) fields[name] = value;
    }
    // A button with a name (确认 / 退回) is part of what is sent.
    const button = form.querySelector('button[name]');
    if (button) fields[button.getAttribute('name')!] = button.getAttribute('value') ?? '';
    return [{ page, action, fields, typed, multipart: form.getAttribute('enctype') === 'multipart/form-data' }];
  });
}

async function walk(agent: TestAgent, username: string): Promise<{ visited: string[]; forms: Form[]; problems: string[] }> {
  const queue = ['/'];
  const seen = new Set(queue);
  const shapes = new Map<string, number>();
  const visited: string[] = [];
  const forms = new Map<string, Form>();
  const problems: string[] = [];
  while (queue.length && visited.length < MAX_PAGES) {
    const path = queue.shift()!;
    const res = await agent.get(path);
    if (res.status !== 200) {
      problems.push(`${username} GET ${path} → ${res.status}`);
      continue;
    }
    visited.push(path);
    const html = parse(res.text);
    for (const a of html.querySelectorAll('a[href]')) {
      const href = a.getAttribute('href')!.replace(/&amp;/g, '&').split('#')[0]!;
      const target = href.startsWith('?') ? `${path.split('?')[0]}${href}` : href;
      if (!target.startsWith('/') || target.startsWith('//') || NOT_A_PAGE.test(target) || seen.has(target) || a.hasAttribute('download')) continue;
      const shape = shapeOf(target.split('?')[0]!);
      if ((shapes.get(shape) ?? 0) >= PER_SHAPE) continue;
      shapes.set(shape, (shapes.get(shape) ?? 0) + 1);
      seen.add(target);
      queue.push(target);
    }
    for (const form of formsOf(path, html)) {
      const key = `${shapeOf(form.action)} ${form.fields.action ?? ''} ${form.fields.decision ?? ''}`;
      if (!forms.has(key)) forms.set(key, form);
    }
  }
  return { visited, forms: [...forms.values()], problems };
}

describe(`every demo role's pages and forms (${TEST_DB})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
  });
  afterAll(async () => t?.cleanup());

  // The administrator last: its walk resets other users' passwords.
  for (const user of [...DEMO_USERS].sort((a, b) => Number(a.role === 'admin') - Number(b.role === 'admin'))) {
    it(`${user.username}: every form its pages offer refuses bad input on its page and changes nothing, and no link or form answers 403 or 500`, async () => {
      const agent = agentFor(t.core);
      expect((await login(agent, user.username)).status).toBe(303);
      const { visited, forms, problems } = await walk(agent, user.username);
      expect(visited.length, `${user.username} reached too few pages: ${visited.join(' ')}`).toBeGreaterThan(3);
      const send = async (form: Form, fields: Record<string, string>) => {
        // The page again for a fresh CSRF token (an earlier submission may have changed it).
        const page = await agent.get(form.page);
        if (page.status !== 200) return null;
        const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
        return form.multipart
          ? Object.entries({ ...fields, _csrf: csrf }).reduce((req, [k, v]) => req.field(k, v), agent.post(form.action))
          : agent.post(form.action).type('form').send({ ...fields, _csrf: csrf });
      };
      // First every form's refusal path: a stale version, or typed fields no rule accepts (far too long for any field,
      // not a number, not a date), or an upload without its file. It is refused on its own page (422 or 409) and
      // changes nothing: no audit row but those that record refusals (access.denied, a failed password change …).
      for (const form of forms) {
        const stale = 'version' in form.fields ? 'version' : 'revision' in form.fields ? 'revision' : null;
        if (!stale && form.typed.length === 0 && !form.multipart) continue;
        const refused = stale ? { ...form.fields, [stale]: '999999' } : { ...form.fields, ...Object.fromEntries(form.typed.map((name) => [name, 'x'.repeat(801)])) };
        const changes = () => t.core.db('core_audit').whereNotIn('action', ['access.denied', 'csrf.rejected']).whereNot('action', 'like', '%.failure').count({ n: '*' }).first();
        const before = await changes();
        const res = await send(form, refused);
        if (!res) continue;
        if (res.status !== 422 && res.status !== 409) problems.push(`${user.username} refusal of POST ${form.action} (from ${form.page}, fields ${Object.keys(refused).join(',')}) → ${res.status}`);
        expect(await changes(), `${user.username} refusal of POST ${form.action} changed nothing`).toEqual(before);
      }
      // Then each with plausible values: whatever a page offers, its user may do.
      for (const form of forms) {
        const res = await send(form, form.fields);
        if (res && (res.status === 403 || res.status >= 500)) problems.push(`${user.username} POST ${form.action} (from ${form.page}, ${JSON.stringify(form.fields)}) → ${res.status}`);
      }
      expect(problems).toEqual([]);
    });
  }
});
