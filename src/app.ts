import crypto from 'node:crypto';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import compress from 'koa-compress';
import send from 'koa-send';
import type { Core } from './core/context.ts';
import type { Actor } from './core/auth/roles.ts';
import { apiMiddleware, openApiDocument } from './core/api.ts';
import { appPath } from './core/app-root.ts';
import { recordAudit } from './core/audit.ts';
import { coreAuditVocabulary } from './core/audit-labels.ts';
import { AuditLexicon } from './core/audit-vocabulary.ts';
import { inTransaction } from './core/db.ts';
import { DeadlineRules } from './core/deadlines.ts';
import { countRequests } from './core/give-way.ts';
import { AppError, ValidationError } from './core/errors.ts';
import { csrfProtection } from './core/http/csrf.ts';
import { noIdNumbersInUrls, securityHeaders } from './core/http/security.ts';
import { multipartBody } from './core/http/upload.ts';
import { log } from './core/log.ts';
import type { EventHandlers } from './core/events.ts';
import type { AppModule, NavItem } from './core/module.ts';
import type { ModuleMove } from './core/county-move.ts';
import type { Rekeyer } from './core/key-rotation.ts';
import type { TaskDefinition } from './core/scheduler.ts';
import { coreTasks } from './core/tasks.ts';
import { createViews } from './core/views.ts';
import { createAgreementModule } from './modules/agreement/index.ts';
import { createBankModule } from './modules/bank/index.ts';
import { createBatchModule } from './modules/batch/index.ts';
import { auditPersonFinder, createBeneficiaryModule } from './modules/beneficiary/index.ts';
import { createPolicyModule } from './modules/policy/index.ts';
import { complaintQueue, createPublicityModule } from './modules/publicity/index.ts';
import { createSupervisionModule } from './modules/supervision/index.ts';
import { adminRoutes } from './core/web/admin-routes.ts';
import { auditRoutes } from './core/web/audit-routes.ts';
import { authRoutes } from './core/web/auth-routes.ts';
import { calendarRoutes } from './core/web/calendar-routes.ts';
import { columnMappingRoutes } from './core/web/column-mapping-routes.ts';
import { helpRoutes } from './core/web/help-routes.ts';
import { homeRoutes } from './core/web/home-routes.ts';
import { opsRoutes } from './core/web/ops-routes.ts';
import { sessionMiddleware } from './core/web/session-middleware.ts';
import { ERROR_TEMPLATE, Web } from './core/web/web.ts';

const STATIC_DIR = appPath('static');

const CORE_NAV: NavItem[] = [
  { href: '/', label: '工作台', roles: ['admin', 'auditor', 'township_station', 'township_finance', 'department', 'finance_section', 'treasury', 'bank', 'supervisor'] },
  { href: '/deadlines', label: '限时办理', roles: ['township_station', 'township_finance', 'department', 'finance_section', 'treasury', 'bank', 'supervisor'] },
  { href: '/admin/users', label: '用户管理', roles: ['admin'] },
  { href: '/admin/regions', label: '地区与单位', roles: ['admin'] },
  { href: '/admin/calendar', label: '工作日历', roles: ['admin'] },
  { href: '/admin/settings', label: '时限设置', roles: ['admin'] },
  { href: '/admin/tasks', label: '计划任务', roles: ['admin'] },
  { href: '/admin/api-tokens', label: '接口令牌', roles: ['admin'] },
  { href: '/api-tokens', label: '接口令牌审批', roles: ['finance_section'] },
  { href: '/audit', label: '审计日志', roles: ['auditor'] },
];
const ACCOUNT_NAV: NavItem = { href: '/account', label: '账户安全', roles: CORE_NAV[0]!.roles };

/**
 * The bounded modules, each built with its dependencies, bottom layer first (policy, beneficiary, agreement › batch ›
 * bank › publicity, supervision). Each module issue adds its module here; core never imports a module.
 */
function buildModules(core: Core): AppModule[] {
  const modules = [createPolicyModule(core), createBeneficiaryModule(core), createAgreementModule(), createBatchModule(core), createBankModule(core), createPublicityModule(core)];
  // Supervision reads every module's deadline rules, and publicity's complaints (the same layer: passed in, not imported).
  return [...modules, createSupervisionModule(core, { modules, complaints: complaintQueue, auditLexicon: () => composeAuditLexicon(core) })];
}

/** Every scheduled task: the platform's own and the modules'. The outbox dispatch reaches the modules' handlers. */
export function composeTasks(core: Core, modules: AppModule[] = buildModules(core)): TaskDefinition[] {
  const handlers: EventHandlers = {};
  for (const m of modules) for (const [type, handle] of Object.entries(m.events ?? {})) (handlers[type] ??= []).push(handle);
  return [...coreTasks(core, handlers), ...modules.flatMap((m) => m.tasks?.(core) ?? [])];
}

/** Every deadline rule (限时办理), as each module declares it; core defines none. */
export function composeDeadlineRules(core: Core, modules: AppModule[] = buildModules(core)): DeadlineRules {
  return new DeadlineRules(modules.flatMap((m) => m.deadlineRules ?? []));
}

/** How the audit log reads every action and object: the platform's own vocabulary and each module's. */
export function composeAuditLexicon(core: Core, modules: AppModule[] = buildModules(core)): AuditLexicon {
  const vocabulary = coreAuditVocabulary(composeTasks(core, modules), composeDeadlineRules(core, modules));
  return new AuditLexicon([vocabulary, ...modules.flatMap((m) => (m.audit ? [m.audit] : []))]);
}

/** How each module rewrites its fields when the field key changes, bottom layer first (core/key-rotation.ts). */
export function composeRekeyers(core: Core, modules: AppModule[] = buildModules(core)): Rekeyer[] {
  return modules.flatMap((m) => (m.rekey ? [m.rekey] : []));
}

/** How each module's tables move when a county moves onto a central deployment (core/county-move.ts). */
export function composeMoves(core: Core, modules: AppModule[] = buildModules(core)): ModuleMove[] {
  return modules.flatMap((m) => (m.move ? [m.move] : []));
}

export interface AppOptions {
  /** Write one log line per request (off in tests). */
  logRequests?: boolean;
}

/** The composition root: every module built with its dependencies and mounted on one Koa app. */
export function createApp(core: Core, options: AppOptions = {}): Koa {
  // Behind the one trusted reverse proxy, the client's address is the last X-Forwarded-For entry (the one the
  // proxy appended); earlier entries are whatever the client sent, and would let it choose its address.
  const app = new Koa({ proxy: core.config.trustProxy, maxIpsCount: 1 });
  const views = createViews();
  const modules = buildModules(core);
  const nav = [...CORE_NAV, ...modules.flatMap((m) => m.nav ?? []), ACCOUNT_NAV];
  const web = new Web(core, views, nav, modules.flatMap((m) => (m.panels ? [m.panels] : [])));

  app.use(countRequests());
  app.use(compress({ threshold: 512 }));
  app.use(errorPages(web));
  app.use(securityHeaders());
  app.use(noIdNumbersInUrls());
  if (options.logRequests) app.use(requestLog());
  app.use(staticFiles());
  app.use(apiRoutes(core, modules));
  app.use(bodyParser({ enableTypes: ['form', 'json'], formLimit: '100kb', jsonLimit: '1mb' }));
  app.use(sessionMiddleware(core));
  app.use(multipartBody());
  app.use(
    csrfProtection(core.crypto.subkey('csrf'), async (ctx, reason) => {
      const actor = ctx.state.actor as Actor | undefined;
      await inTransaction(core.db, (trx) =>
        recordAudit(trx, actor ?? { userId: null, username: null, ip: ctx.ip || null }, { action: 'csrf.rejected', summary: { path: ctx.path, reason } }),
      );
    }),
  );

  const deadlineRules = composeDeadlineRules(core, modules);
  const router = new Router();
  homeRoutes(router, web, modules, deadlineRules);
  authRoutes(router, web);
  adminRoutes(router, web);
  auditRoutes(router, web, composeAuditLexicon(core, modules), auditPersonFinder(core));
  calendarRoutes(router, web);
  columnMappingRoutes(router, web, modules.flatMap((m) => m.columnMappings ?? []));
  opsRoutes(router, web, composeTasks(core, modules), deadlineRules);
  helpRoutes(router, web);
  for (const m of modules) m.routes?.(router, web);
  app.use(router.routes());
  app.use(formAddressesAnswerGet(router));
  app.use(router.allowedMethods());
  return app;
}

/** /api/v1: the modules' machine routes and the OpenAPI document, before any session or CSRF middleware. */
function apiRoutes(core: Core, modules: AppModule[]) {
  const router = new Router({ prefix: '/api/v1' });
  const document = openApiDocument(Object.assign({}, ...modules.map((m) => m.api?.openapi ?? {})), Object.assign({}, ...modules.map((m) => m.api?.schemas ?? {})));
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  for (const m of modules) m.api?.routes(router);
  return apiMiddleware(core, router);
}

/**
 * A form's address answers GET too: after a refused POST (the page re-rendered with its errors) the address bar
 * holds the form's action, and a refresh there must show the page, never "Method Not Allowed". A GET of a path
 * that only takes POST is sent (303) to the nearest page above it: /rosters/12/act → /rosters/12. Mounted after the
 * routes, so it only sees the requests no route answered.
 */
function formAddressesAnswerGet(router: Router) {
  const answersGet = (path: string) => router.match(path, 'GET').pathAndMethod.some((layer) => layer.methods.includes('GET'));
  return async (ctx: Context, next: Next) => {
    if (ctx.method !== 'GET' || !router.match(ctx.path, 'POST').route) return next();
    const segments = ctx.path.split('/');
    while (segments.length > 1) {
      segments.pop();
      const page = segments.join('/') || '/';
      if (answersGet(page)) {
        ctx.status = 303;
        return ctx.redirect(page);
      }
    }
    return next();
  };
}

/** 404 for anything unrouted; Chinese error pages for every error; never a stack trace in a response. */
function errorPages(web: Web) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) web.render(ctx, ERROR_TEMPLATE, { title: '页面不存在', status: 404, message: '您要找的页面不存在或已被移除' }, 404);
    } catch (err) {
      if (err instanceof AppError) {
        const titles: Record<number, string> = { 403: '无权访问', 404: '页面不存在', 409: '操作冲突', 422: '错误：提交的内容有误' };
        // A request refused for what it carried (a bad address or query, no page of its own to show it on): each reason listed.
        const reasons = err instanceof ValidationError ? Object.values(err.fieldErrors) : [];
        return web.render(ctx, ERROR_TEMPLATE, { title: titles[err.status] ?? '出错了', status: err.status, message: err.message, reasons }, err.status);
      }
      const status = (err as { status?: number }).status;
      if (status === 404) return web.render(ctx, ERROR_TEMPLATE, { title: '页面不存在', status, message: '您要找的页面不存在或已被移除' }, 404);
      if (status && status >= 400 && status < 500) {
        return web.render(ctx, ERROR_TEMPLATE, { title: '请求无效', status, message: '请求的格式不正确，请返回上一页重试' }, status);
      }
      const reference = crypto.randomBytes(4).toString('hex');
      log('error', 'request failed', { reference, method: ctx.method, path: ctx.path, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      try {
        web.render(ctx, ERROR_TEMPLATE, { title: '系统错误', status: 500, message: `系统出现错误，请稍后重试。如问题持续，请将错误编号 ${reference} 告知系统管理员。` }, 500);
      } catch {
        ctx.status = 500;
        ctx.type = 'text';
        ctx.body = `系统错误（编号 ${reference}）`;
      }
    }
  };
}

/** static/ under /static/: CSS, print CSS, htmx; cached for a day (a village office on 3G loads them once). */
function staticFiles() {
  return async (ctx: Context, next: Next) => {
    if (!ctx.path.startsWith('/static/') || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    await send(ctx, ctx.path.slice('/static'.length), { root: STATIC_DIR, maxage: 86_400_000, index: false, hidden: false });
  };
}

function requestLog() {
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    await next();
    if (ctx.path.startsWith('/static/')) return;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Path only: query strings may carry names, and no personal data goes to the log.
    log('info', 'request', { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms), user: (ctx.state.actor as Actor | undefined)?.userId });
  };
}
