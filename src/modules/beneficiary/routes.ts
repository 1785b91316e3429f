import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { parseId, validate } from '../../core/http/validate.ts';
import { listRegionsInScope } from '../../core/regions.ts';
import type { Web } from '../../core/web/web.ts';
import { type AccountKind, parseAccountNumber } from './account-number.ts';
import { businessDate, formatDateTime } from '../../core/dates.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { writeTableXlsx } from '../../core/spreadsheet.ts';
import { recordAudit } from '../../core/audit.ts';
import { inTransaction } from '../../core/db.ts';
import { chosen, describeFilters, listWorkbook } from '../../core/lists.ts';
import { correctPerson, decideAccount, decideChange, decideImportAccounts, registerPerson, requestChange } from './commands.ts';
import { writeRegistryTemplate } from './files.ts';
import { lifeEventRoutes, lifeEventView } from './life-event-routes.ts';
import { presentLifeEventFor } from './life-event-presenters.ts';
import { pendingLifeEvents } from './life-event-queries.ts';
import { importRegistry } from './registry-import.ts';
import { RELATIONS, STATUSES } from './model.ts';
import { parseIdNumber } from './id-number.ts';
import { can } from './policy.ts';
import { NON_CARD_REASONS } from './card-first.ts';
import { columnMappingOffer } from '../../core/column-mapping.ts';
import { REGISTRY_MAPPING, referenceMapping } from './column-kinds.ts';
import {
  presentAccount,
  presentHit,
  presentImport,
  presentImportAccount,
  presentImportFor,
  presentImportWarning,
  presentPendingAccountFor,
  presentPerson,
  presentRegistryRow,
  presentRequest,
  presentRequestFor,
  presentSnapshot,
} from './presenters.ts';
import {
  accountsOf,
  changeRequestsOf,
  householdMembers,
  importAccounts,
  importInScope,
  importsOf,
  importWarnings,
  pendingAccounts,
  pendingChanges,
  pendingImports,
  personInScope,
  referenceHitsOf,
  referenceSnapshot,
  referenceSnapshots,
  registryList,
  type RegistryRow,
  registryQuery,
  snapshotHits,
} from './queries.ts';
import { REFERENCE_SOURCES, loadReferenceSnapshot } from './reference.ts';
import {
  accountChangeSchema,
  correctionSchema,
  decisionSchema,
  hitPageSchema,
  idSearchSchema,
  importAccountsDecisionSchema,
  importAccountsPageSchema,
  referenceUploadSchema,
  registerSchema,
  statusChangeSchema,
} from './schemas.ts';

const PAGE_SIZE = 50;

/** The choices of 未使用社保卡的原因 on the account forms (card-first.ts). */
const nonCardReasons = Object.entries(NON_CARD_REASONS).map(([value, label]) => ({ value, label }));

/**
 * What the registry's rules accepted but warn about in the ID and account numbers a form saved (a full-width digit
 * converted, a card number to check), as the end of the message after saving; '' when nothing.
 */
function typedWarnings(idNumber: string | null, account: { kind: AccountKind; number: string } | null): string {
  const id = idNumber === null ? null : parseIdNumber(idNumber);
  const parsed = account && parseAccountNumber(account.kind, account.number);
  const warnings = [...(id?.ok ? id.warnings : []), ...(parsed?.ok ? parsed.warnings : [])];
  return warnings.length ? `。请核对：${warnings.join('；')}` : '';
}

/** The registry's pages: search, a person's one-card page, registration, and the changes that need confirmation. */
export function beneficiaryRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read', null));
  const station = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'register', null));
  // Moves, changes of head, deaths (life-event-routes.ts): before the person's page, whose address would take theirs.
  lifeEventRoutes(router, web, personPage);

  async function villages(actor: Actor) {
    return (await listRegionsInScope(db, actor)).filter((r) => r.level === 'village').map((r) => ({ value: r.id, label: r.name }));
  }

  function personIdParam(ctx: Context): number {
    const id = parseId(ctx.params.id);
    if (id === null) throw new NotFoundError('受益对象不存在');
    return id;
  }

  const accountChoices = [
    { value: 'yes', label: '有发放账户' },
    { value: 'no', label: '无发放账户' },
  ];
  const statusChoices = Object.entries(STATUSES).map(([value, label]) => ({ value, label }));

  /** The registry list; after an exact ID number search (a POST, see below) the one person of that number. */
  async function searchPage(ctx: Context, actor: Actor, idIndex?: string, extra: Record<string, unknown> = {}, status = 200) {
    const query = registryList.parse(ctx.query);
    const { rows, total } = await registryList.page<RegistryRow>(registryQuery(db, actor, { ...query.filters, idIndex }), query);
    web.render(
      ctx,
      'beneficiary/search.njk',
      {
        title: '受益对象档案',
        rows: rows.map(presentRegistryRow),
        links: registryList.links(query, total),
        filter: query.filters,
        villages: await villages(actor),
        statuses: statusChoices,
        accounts: accountChoices,
        canRegister: can(actor, 'register', null).ok,
        ...extra,
      },
      status,
    );
  }

  router.get('/beneficiaries', async (ctx) => searchPage(ctx, await reader(ctx)));

  // What the list's filter selects, every page of it; ID numbers masked as on the page, accounts by their last digits.
  router.get('/beneficiaries/export.xlsx', async (ctx) => {
    const actor = await reader(ctx);
    const query = registryList.parse(ctx.query);
    const rows = (await registryList.all<RegistryRow>(registryQuery(db, actor, query.filters), query)).map(presentRegistryRow);
    const { name, villageId, status, account } = query.filters;
    const file = await listWorkbook(
      {
        title: '受益对象档案',
        filter: describeFilters([['姓名含', name], ['村（社区）', chosen(await villages(actor), villageId)], ['状态', chosen(statusChoices, status)], ['发放账户', chosen(accountChoices, account)]]),
        sort: registryList.describeSort(query),
        by: actor.displayName,
      },
      [
        { header: '姓名', width: 12, value: (p) => p.name },
        { header: '身份证号码（脱敏）', width: 22, value: (p) => p.idMasked },
        { header: '性别', width: 6, value: (p) => p.sex },
        { header: '出生日期', width: 12, value: (p) => p.birthDate },
        { header: '村（社区）', width: 14, value: (p) => p.village },
        { header: '与户主关系', width: 10, value: (p) => p.relation },
        { header: '状态', width: 8, value: (p) => p.status },
        { header: '状态变更', width: 24, value: (p) => p.statusNote },
        { header: '发放账户', width: 30, value: (p) => p.account },
      ],
      rows,
    );
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'beneficiary.registry.export', summary: file.summary }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });

  // An exact ID number search is a POST: the number never appears in a URL, a log or the browser history.
  router.post('/beneficiaries/find', async (ctx) => {
    const actor = await reader(ctx);
    const typed = String((ctx.request.body as Record<string, unknown>).idNumber ?? '');
    // A refused number stays in the field (a staff screen), with the reason beside it.
    const refused = (message: string) => searchPage(ctx, actor, undefined, { idErrors: { idNumber: message }, idValue: typed }, 422);
    let idNumber: string;
    try {
      ({ idNumber } = validate(idSearchSchema, ctx.request.body));
    } catch (err) {
      if (err instanceof ValidationError) return refused(err.fieldErrors.idNumber ?? err.message);
      throw err;
    }
    const parsed = parseIdNumber(idNumber);
    if (!parsed.ok) return refused(parsed.error);
    await searchPage(ctx, actor, web.core.crypto.blindIndex('id', parsed.value.idNumber), { byId: true });
  });

  async function registerPage(ctx: Context, actor: Actor, values: Record<string, unknown>, errors?: Record<string, string>) {
    const headId = parseId(String(values.headPersonId ?? ''));
    const head = headId ? presentPerson(await personInScope(db, actor, headId)) : null;
    web.render(
      ctx,
      'beneficiary/register.njk',
      { title: head ? `登记家庭成员（户主：${head.name}）` : '登记受益对象', head, values, errors, villages: await villages(actor), relations: Object.entries(RELATIONS).map(([value, label]) => ({ value, label })), nonCardReasons },
      errors ? 422 : 200,
    );
  }

  router.get('/beneficiaries/new', async (ctx) => {
    const actor = await station(ctx);
    const headId = parseId(String(ctx.query.head ?? ''));
    const head = headId ? await personInScope(db, actor, headId) : null;
    await registerPage(ctx, actor, head ? { headPersonId: head.id, villageId: head.village_id, relation: 'spouse', hasAccount: 'on' } : { relation: 'head', hasAccount: 'on', accountKind: 'sscard' });
  });

  router.post('/beneficiaries', async (ctx) => {
    const actor = web.actor(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(registerSchema, body);
      const account = input.hasAccount
        ? { kind: (input.accountKind ?? 'sscard') as AccountKind, bankName: input.bankName?.trim() || '（未填写）', number: input.accountNumber ?? '', holderName: input.holderName?.trim() || input.name, nonCardReason: input.nonCardReason, nonCardNote: input.nonCardNote }
        : null;
      const personId = await registerPerson(web.core, actor, { ...input, account });
      const message = (input.hasAccount ? '已登记；发放账户待乡镇财政所确认后生效' : '已登记') + typedWarnings(input.idNumber, account);
      await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await registerPage(ctx, actor, body, err.fieldErrors);
    }
  });

  // --- registry import (the township's roster of people) --------------------------------------------------

  async function importPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    web.render(ctx, 'beneficiary/import.njk', { title: '导入受益对象', imports: (await importsOf(db, actor.regionId)).map(presentImport), ...extra }, status);
  }

  router.get('/beneficiaries/import', async (ctx) => importPage(ctx, await station(ctx)));

  router.get('/beneficiaries/import/template.xlsx', async (ctx) => {
    const actor = await station(ctx);
    web.sendFile(ctx, `受益对象导入模板-${actor.regionName}.xlsx`, XLSX_TYPE, await writeRegistryTemplate((await villages(actor)).map((v) => v.label)));
  });

  router.post('/beneficiaries/import', async (ctx) => {
    const actor = await station(ctx);
    const file = uploadedFile(ctx);
    if (!file) return importPage(ctx, actor, { fileError: '请选择要导入的 Excel（.xlsx）或 CSV 文件' }, 422);
    const outcome = await importRegistry(web.core, actor, file);
    if (!outcome.ok) return importPage(ctx, actor, { refusal: await web.importRefusal(ctx, '受益对象导入', file.name, outcome.errors, outcome.report), mapping: columnMappingOffer(REGISTRY_MAPPING, actor, outcome.gap ?? null) }, 422);
    const message = outcome.repeated
      ? `该文件已于 ${formatDateTime(outcome.importedAt)} 导入过（${outcome.rows} 行），本次没有做任何更改`
      : `导入完成：共 ${outcome.rows} 行，新登记 ${outcome.created} 人，更正 ${outcome.updated} 人，未变化 ${outcome.unchanged} 人，账户变更待财政所确认 ${outcome.accountRequests} 人` +
        (outcome.newAccounts ? `；新登记的 ${outcome.newAccounts} 个发放账户待财政所核对清单后一并确认` : '') +
        (outcome.warnings ? `；${outcome.warnings} 处值得核对，逐行列在本页` : '');
    // An import whose rows drew warnings shows them next, row by row.
    const next = outcome.warnings ? `/beneficiaries/imports/${outcome.importId}/warnings` : '/beneficiaries/import';
    await web.redirectWith(ctx, next, { kind: outcome.repeated ? 'info' : 'success', message });
  });

  // The warnings an import's rows drew (full-width digits converted, a card number to check …), row by row.
  const WARNINGS_PAGE_SIZE = 200;

  router.get('/beneficiaries/imports/:iid/warnings', async (ctx) => {
    const file = presentImport(await importInScope(db, await reader(ctx), importIdParam(ctx)));
    const { page } = validate(hitPageSchema, ctx.query);
    const warnings = await importWarnings(db, file.id, page, WARNINGS_PAGE_SIZE);
    web.render(ctx, 'beneficiary/import-warnings.njk', {
      title: `“${file.fileName}”的导入提示`,
      file,
      warnings: warnings.map(presentImportWarning),
      total: file.warnings,
      page,
      pages: Math.max(1, Math.ceil(file.warnings / WARNINGS_PAGE_SIZE)),
    });
  });

  router.get('/beneficiaries/imports/:iid/warnings.xlsx', async (ctx) => {
    const file = presentImport(await importInScope(db, await reader(ctx), importIdParam(ctx)));
    const warnings = await importWarnings(db, file.id, 1, null);
    const body = await writeTableXlsx('导入提示', ['行号', '列', '提示'], warnings.map((w) => [w.row_number, w.field, w.message]));
    web.sendFile(ctx, `受益对象导入提示-${file.fileName.replace(/\.(xlsx|csv)$/i, '')}.xlsx`, XLSX_TYPE, body);
  });

  // --- reference data from other departments (一项机制助审核) ----------------------------------------------

  async function referencePage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    web.render(
      ctx,
      'beneficiary/reference.njk',
      {
        title: '部门共享数据比对',
        snapshots: (await referenceSnapshots(db, actor)).map(presentSnapshot),
        canLoad: can(actor, 'load_reference', null).ok,
        sources: Object.entries(REFERENCE_SOURCES).map(([value, s]) => ({ value, label: s.label })),
        values: { takenOn: businessDate() },
        ...extra,
      },
      status,
    );
  }

  router.get('/beneficiaries/reference', async (ctx) => referencePage(ctx, await reader(ctx)));

  router.post('/beneficiaries/reference', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'load_reference', null));
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(referenceUploadSchema, body);
      const file = uploadedFile(ctx);
      if (!file) throw new ValidationError({ file: '请选择要导入的 Excel（.xlsx）或 CSV 文件' });
      const outcome = await loadReferenceSnapshot(web.core, actor, { ...input, file });
      if (!outcome.ok) {
        const mapping = columnMappingOffer(referenceMapping(input.source), actor, outcome.gap ?? null);
        return referencePage(ctx, actor, { values: body, refusal: await web.importRefusal(ctx, '部门共享数据导入', file.name, outcome.errors, outcome.report), mapping }, 422);
      }
      const message = outcome.repeated
        ? `该文件已导入过（数据截止 ${outcome.takenOn}），本次没有做任何更改`
        : `已导入：共 ${outcome.rows} 人，其中 ${outcome.matched} 人在本县受益对象档案中，已作标记`;
      await web.redirectWith(ctx, `/beneficiaries/reference/${outcome.snapshotId}`, { kind: outcome.repeated ? 'info' : 'success', message });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await referencePage(ctx, actor, { values: body, errors: err.fieldErrors }, 422);
    }
  });

  router.get('/beneficiaries/reference/:sid', async (ctx) => {
    const actor = await reader(ctx);
    const snapshotId = parseId(ctx.params.sid);
    if (snapshotId === null) throw new NotFoundError('比对数据不存在');
    const snapshot = presentSnapshot(await referenceSnapshot(db, actor, snapshotId));
    const { page } = validate(hitPageSchema, ctx.query);
    const { rows, total } = await snapshotHits(db, actor, snapshotId, page, PAGE_SIZE);
    web.render(ctx, 'beneficiary/snapshot.njk', { title: `${snapshot.source}（${snapshot.takenOn}）`, snapshot, hits: rows.map(presentHit), total, page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)) });
  });

  // What waits for the township finance office: changes and first accounts one by one, a file's new accounts together.
  const changesPage = async (ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) => {
    const items = [
      ...(await pendingAccounts(db, actor)).map((a) => ({ at: a.opened_at, item: presentPendingAccountFor(actor, a) })),
      ...(await pendingChanges(db, actor)).map((r) => ({ at: r.requested_at, item: presentRequestFor(actor, r) })),
    ];
    items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const lifeEvents = (await pendingLifeEvents(db, actor)).map((e) => presentLifeEventFor(actor, e));
    web.render(ctx, 'beneficiary/changes.njk', { title: '待确认的变更', requests: items.map((i) => i.item), imports: (await pendingImports(db, actor)).map(presentImport), lifeEvents, ...extra }, status);
  };

  router.get('/beneficiaries/changes', async (ctx) => changesPage(ctx, await web.permit(ctx, (a) => can(a, 'decide_change', { requestedBy: null, pending: true }))));

  // An import's new accounts: the list with its warnings, and the finance office's one decision on them all.
  function importIdParam(ctx: Context): number {
    const id = parseId(ctx.params.iid);
    if (id === null) throw new NotFoundError('导入记录不存在');
    return id;
  }

  const IMPORT_PAGE_SIZE = 100;
  const IMPORT_WARNINGS_SHOWN = 20;

  async function importAccountsPage(ctx: Context, actor: Actor, importId: number, extra: Record<string, unknown> = {}, status = 200) {
    const file = presentImportFor(actor, await importInScope(db, actor, importId));
    const { page } = validate(importAccountsPageSchema, ctx.query);
    const { rows, total, luhnWarnings } = await importAccounts(db, importId, page, IMPORT_PAGE_SIZE);
    web.render(
      ctx,
      'beneficiary/import-accounts.njk',
      {
        title: `“${file.fileName}”的新账户`,
        file,
        // The file's row warnings come first (all of them on the import's warnings page), then its new accounts.
        fileWarnings: (await importWarnings(db, importId, 1, IMPORT_WARNINGS_SHOWN)).map(presentImportWarning),
        accounts: rows.map(presentImportAccount),
        total,
        luhnWarnings,
        page,
        pages: Math.max(1, Math.ceil(total / IMPORT_PAGE_SIZE)),
        ...extra,
      },
      status,
    );
  }

  router.get('/beneficiaries/imports/:iid/accounts', async (ctx) => importAccountsPage(ctx, await reader(ctx), importIdParam(ctx)));

  router.post('/beneficiaries/imports/:iid/accounts/decide', async (ctx) => {
    const actor = web.actor(ctx);
    const importId = importIdParam(ctx);
    await web.formStep(
      ctx,
      `/beneficiaries/imports/${importId}/accounts`,
      async () => {
        const input = validate(importAccountsDecisionSchema, ctx.request.body);
        const approve = input.decision === 'confirm';
        const accounts = await decideImportAccounts(web.core, actor, importId, { approve, note: input.note, version: input.version });
        return approve ? `已确认 ${accounts} 个新账户，即日起可用于发放` : `已退回 ${accounts} 个新账户，相关人员暂无发放账户`;
      },
      (extra, status) => importAccountsPage(ctx, actor, importId, extra, status),
    );
  });

  router.post('/beneficiaries/accounts/:aid/decide', async (ctx) => {
    const actor = web.actor(ctx);
    const accountId = parseId(ctx.params.aid);
    if (accountId === null) throw new NotFoundError('发放账户不存在');
    await web.formStep(
      ctx,
      '/beneficiaries/changes',
      async () => {
        const input = validate(decisionSchema, ctx.request.body);
        await decideAccount(web.core, actor, accountId, { approve: input.decision === 'confirm', note: input.note });
        return input.decision === 'confirm' ? '已确认，账户生效' : '已退回，该对象暂无发放账户';
      },
      (extra, status) => changesPage(ctx, actor, 'errors' in extra ? { conflict: Object.values(extra.errors as Record<string, string>).join('；') } : extra, status),
    );
  });

  async function personPage(ctx: Context, actor: Actor, personId: number, extra: Record<string, unknown> = {}, status = 200) {
    const person = await personInScope(db, actor, personId);
    const accounts = (await accountsOf(db, personId)).map(presentAccount);
    web.render(
      ctx,
      'beneficiary/person.njk',
      {
        title: person.name,
        person: presentPerson(person),
        members: person.household_id ? (await householdMembers(db, person.household_id)).map(presentPerson) : [],
        accounts,
        accountPending: accounts.some((a) => a.pending),
        requests: (await changeRequestsOf(db, personId)).map(presentRequest),
        hits: (await referenceHitsOf(db, [personId])).map(presentHit),
        panels: await web.panels('person', actor, personId),
        isStation: can(actor, 'register', null).ok,
        isFinanceOffice: can(actor, 'decide_change', { requestedBy: null, pending: true }).ok,
        statuses: Object.entries(STATUSES).map(([value, label]) => ({ value, label })),
        relations: Object.entries(RELATIONS).map(([value, label]) => ({ value, label })),
        nonCardReasons,
        correctionValues: { name: person.name, relation: person.relation, version: person.version },
        ...(await lifeEventView(db, actor, person)),
        ...extra,
      },
      status,
    );
  }

  router.get('/beneficiaries/:id', async (ctx) => personPage(ctx, await reader(ctx), personIdParam(ctx)));

  router.post('/beneficiaries/:id/correct', async (ctx) => {
    const actor = web.actor(ctx);
    const personId = personIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      await correctPerson(web.core, actor, personId, validate(correctionSchema, body));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return personPage(ctx, actor, personId, { correctionErrors: err.fieldErrors, correctionValues: body }, 422);
    }
    await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message: '已更正' });
  });

  router.post('/beneficiaries/:id/account-change', async (ctx) => {
    const actor = web.actor(ctx);
    const personId = personIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    let warnings: string;
    try {
      const input = validate(accountChangeSchema, body);
      await requestChange(web.core, actor, personId, { kind: 'account', account: { kind: input.accountKind, bankName: input.bankName, number: input.accountNumber, holderName: input.holderName, nonCardReason: input.nonCardReason, nonCardNote: input.nonCardNote } }, input.reason);
      warnings = typedWarnings(null, { kind: input.accountKind, number: input.accountNumber });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return personPage(ctx, actor, personId, { accountErrors: err.fieldErrors, accountValues: body }, 422);
    }
    await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message: `账户变更已提交，待乡镇财政所确认后生效${warnings}` });
  });

  router.post('/beneficiaries/:id/status-change', async (ctx) => {
    const actor = web.actor(ctx);
    const personId = personIdParam(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    try {
      const input = validate(statusChangeSchema, body);
      await requestChange(web.core, actor, personId, { kind: 'status', status: input.status, date: input.statusDate, source: input.source }, input.reason);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return personPage(ctx, actor, personId, { statusErrors: err.fieldErrors, statusValues: body }, 422);
    }
    await web.redirectWith(ctx, `/beneficiaries/${personId}`, { kind: 'success', message: '状态变更已提交，待乡镇财政所确认后生效' });
  });

  router.post('/beneficiaries/changes/:rid/decide', async (ctx) => {
    const actor = web.actor(ctx);
    const requestId = parseId(ctx.params.rid);
    if (requestId === null) throw new NotFoundError('变更申请不存在');
    await web.formStep(
      ctx,
      '/beneficiaries/changes',
      async () => {
        const input = validate(decisionSchema, ctx.request.body);
        await decideChange(web.core, actor, requestId, { approve: input.decision === 'confirm', note: input.note });
        return input.decision === 'confirm' ? '已确认，变更生效' : '已退回';
      },
      (extra, status) => changesPage(ctx, actor, 'errors' in extra ? { conflict: Object.values(extra.errors as Record<string, string>).join('；') } : extra, status),
    );
  });
}
