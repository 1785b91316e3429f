import { type HTMLElement, parse } from 'node-html-parser';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { businessDate } from '../../src/core/dates.ts';
import { lastEndedQuarter } from '../../src/modules/bank/reconcile.ts';
import { TEST_DB, type TestDb, agentFor, createSeededDb, csrfFrom, login } from '../factories.ts';

/**
 * The demo lets a reviewer take every step on the day it is seeded: a roster whose publicity has already ended, the
 * last ended quarter's reconciliation open, and for each role that works on rounds a to-do line on its home page
 * that leads to a step it can take now.
 */

/** The POST forms of a page that take a step (not the layout's log-out form). */
const stepForms = (html: HTMLElement) => html.querySelectorAll('form[method="post"]').filter((f) => f.getAttribute('action') !== '/logout');
const hrefOf = (a: HTMLElement) => a.getAttribute('href')!.replace(/&amp;/g, '&');

async function as(t: TestDb, username: string): Promise<TestAgent> {
  const agent = agentFor(t.core);
  expect((await login(agent, username)).status).toBe(303);
  return agent;
}

/** The to-do lines of the home page: title and link. */
async function todo(agent: TestAgent): Promise<{ title: string; href: string }[]> {
  return parse((await agent.get('/')).text)
    .querySelectorAll('section.queues a')
    .map((a) => ({ title: a.text.trim(), href: hrefOf(a) }));
}

describe(`the demo's steps can be taken today (${TEST_DB})`, () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createSeededDb({ demo: true }, { people: true });
  });
  afterAll(async () => t?.cleanup());

  it('has a roster in publicity whose seven days have ended: finance1 confirms it from its to-do list today, and station1 reports it again today', async () => {
    const today = businessDate();
    const rosters = await t.core.db('batch_roster').where({ state: 'publicity' }).select('id', 'publicity_start', 'publicity_end');
    expect(rosters).toHaveLength(1);
    const roster = rosters[0]!;
    expect(roster.publicity_end < today).toBe(true);
    expect(Date.parse(roster.publicity_end) - Date.parse(roster.publicity_start)).toBe(6 * 86_400_000);

    const office = await as(t, 'finance1');
    const line = (await todo(office)).find((q) => q.title === '待复核比对或待确认公示的清册');
    expect(line, 'finance1 has the roster to confirm on its home page').toBeDefined();
    expect(parse((await office.get(line!.href)).text).querySelector(`a[href="/rosters/${roster.id}"]`)).not.toBeNull();
    const page = await office.get(`/rosters/${roster.id}`);
    const confirm = stepForms(parse(page.text)).find((f) => f.querySelector('input[name="action"]')?.getAttribute('value') === 'confirm_publicity');
    expect(confirm, 'the roster page offers finance1 the confirmation').toBeDefined();
    const version = confirm!.querySelector('input[name="version"]')!.getAttribute('value')!;
    const confirmed = await office.post(`/rosters/${roster.id}/act`).type('form').send({ _csrf: csrfFrom(page.text), action: 'confirm_publicity', version });
    expect(confirmed.status).toBe(303);

    const station = await as(t, 'station1');
    expect((await todo(station)).map((q) => q.title)).toContain('待上报或待公示、待再次上报的清册');
    const stationPage = await station.get(`/rosters/${roster.id}`);
    const report = stepForms(parse(stationPage.text)).find((f) => f.querySelector('input[name="action"]')?.getAttribute('value') === 'report');
    expect(report, 'the roster page offers station1 the report').toBeDefined();
    const reported = await station.post(`/rosters/${roster.id}/act`).type('form').send({ _csrf: csrfFrom(stationPage.text), action: 'report', version: report!.querySelector('input[name="version"]')!.getAttribute('value')! });
    expect(reported.status).toBe(303);
    expect((await t.core.db('batch_roster').where({ id: roster.id }).first('state')).state).toBe('reported');
  });

  it('has the last ended quarter\'s reconciliation open, waiting for the bank\'s file and the sign-offs, on the bank\'s, the finance section\'s and 民政局\'s home pages', async () => {
    const quarter = lastEndedQuarter(businessDate());
    const recs = await t.core.db('bank_reconciliation').select('id', 'quarter', 'period_end', 'state', 'confirmation_sha256');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ quarter: quarter.quarter, period_end: quarter.end, state: 'open', confirmation_sha256: null });
    expect(await t.core.db('bank_reconciliation_signature').where({ reconciliation_id: recs[0]!.id }).first('id')).toBeUndefined();
    for (const username of ['bank', 'finance', 'dept_civil']) {
      const agent = await as(t, username);
      const line = (await todo(agent)).find((q) => q.title === '待核对签认的季度对账');
      expect(line, `${username} has the reconciliation on its home page`).toBeDefined();
      const list = parse((await agent.get(line!.href)).text);
      expect(list.querySelector(`a[href="/bank/reconciliations/${recs[0]!.id}"]`), `${username}'s list links the reconciliation`).not.toBeNull();
      const page = await agent.get(`/bank/reconciliations/${recs[0]!.id}`);
      expect(page.text).toContain('2026年8月经济困难高龄失能养老服务补贴资金');
    }
    const bank = await as(t, 'bank');
    const page = parse((await bank.get(`/bank/reconciliations/${recs[0]!.id}`)).text);
    expect(stepForms(page).map((f) => f.getAttribute('action')), 'the bank is offered the upload of its confirmation').toContain(`/bank/reconciliations/${recs[0]!.id}/confirmation`);
  });

  for (const username of ['station1', 'finance1', 'dept_agri', 'dept_civil', 'finance', 'treasury', 'bank']) {
    it(`${username}: a to-do line on the home page leads, in at most one more click, to a page offering a step it can submit`, async () => {
      const agent = await as(t, username);
      const lines = (await todo(agent)).filter((q) => q.href !== '/deadlines');
      expect(lines.length, `${username} has work on its home page`).toBeGreaterThan(0);
      const offered: string[] = [];
      for (const line of lines) {
        const html = parse((await agent.get(line.href)).text);
        const here = stepForms(html);
        if (here.length) {
          offered.push(`${line.title}: ${here[0]!.getAttribute('action')}`);
          continue;
        }
        // A list of the records waiting: the first one's page.
        const record = html.querySelectorAll('main a').map(hrefOf).find((h) => /^\/[a-z/-]+\/\d+$/.test(h));
        if (!record) continue;
        const next = stepForms(parse((await agent.get(record)).text));
        if (next.length) offered.push(`${line.title}: ${next[0]!.getAttribute('action')}`);
      }
      expect(offered.length, `${username}'s to-do lines lead to steps: ${lines.map((l) => l.title).join('、')}`).toBeGreaterThan(0);
    });
  }
});
