import type { Context } from 'koa';
import type nunjucks from 'nunjucks';
import type { Core } from '../context.ts';
import { type Actor, ROLE_LABELS, type Role, hasRole } from '../auth/roles.ts';
import { type Flash, type SessionRow, setFlash } from '../auth/session.ts';
import { refuse } from '../audit.ts';
import { type Decision, FourEyesError, authorize } from '../authz.ts';
import { XLSX_TYPE, stashDownload } from '../downloads.ts';
import { ConflictError, ForbiddenError, ValidationError } from '../errors.ts';
import { type ImportError, formatImportError } from '../spreadsheet.ts';

/** An entry of the main navigation, shown to the roles listed. */
export interface NavItem {
  href: string;
  label: string;
  roles: readonly Role[];
}

/** A section a module adds to another module's page (the batch module's payments on a person's page). */
export interface PagePanel {
  title: string;
  /** A template of the contributing module; it reads `panel.data`. */
  template: string;
  data: Record<string, unknown>;
}

/** The pages that take panels, with the id of what they show. */
export type PanelProviders = {
  person?: (actor: Actor, personId: number) => Promise<PagePanel | null>;
  /** A roster's page (batch): a higher module's section about that roster (its publicity sheets). */
  roster?: (actor: Actor, rosterId: number) => Promise<PagePanel | null>;
};

export interface ImportRefusal {
  count: number;
  rows: number;
  shown: string[];
  reportUrl: string;
}

const SHOWN_IMPORT_ERRORS = 50;
/** The page of an error that is not a form's (404, a role refusal, a crash). */
export const ERROR_TEMPLATE = 'errors/error.njk';

/** A file refused whole: formStep shows its page with what `extra` holds (the refusal of importRefusal) and 422. */
export class ImportRefused extends Error {
  constructor(readonly extra: Record<string, unknown>) {
    super('file refused');
  }
}

/** What a form's command says when it succeeds: the message, or the message with its kind and the page to go to. */
export type StepOutcome = string | { message: string; kind?: Flash['kind']; to?: string };

/** What a route needs to answer: the platform, rendering with the common layout data, flash, redirects. */
export class Web {
  constructor(
    readonly core: Core,
    private readonly views: nunjucks.Environment,
    private readonly nav: NavItem[],
    private readonly panelProviders: PanelProviders[] = [],
  ) {}

  actor(ctx: Context): Actor {
    const actor = ctx.state.actor as Actor | undefined;
    if (!actor) throw new ForbiddenError('请先登录');
    return actor;
  }

  /** The actor, if they hold one of the roles; otherwise 403 with an audit row naming the page. */
  async requireRole(ctx: Context, roles: readonly Role[], message: string): Promise<Actor> {
    const actor = this.actor(ctx);
    if (!hasRole(actor, ...roles)) await refuse(this.core.db, actor, { objectType: 'page', summary: { path: ctx.path } }, message);
    return actor;
  }

  /** The actor, if their module's rule (its `can`) allows them this page; otherwise 403 with an audit row naming the page. */
  async permit(ctx: Context, decide: (actor: Actor) => Decision): Promise<Actor> {
    const actor = this.actor(ctx);
    await authorize(this.core.db, actor, decide(actor), { objectType: 'page', objectId: ctx.path });
    return actor;
  }

  session(ctx: Context): SessionRow {
    return ctx.state.session as SessionRow;
  }

  /**
   * Render a page inside the layout. A page re-rendered with a refusal (422 with the form's errors, 409 or 403 with
   * the reason) has a title starting 错误：, so that a screen reader and the browser tab say so first.
   */
  render(ctx: Context, template: string, data: Record<string, unknown> = {}, status = 200): void {
    if (status >= 400 && template !== ERROR_TEMPLATE && typeof data.title === 'string' && !data.title.startsWith('错误：')) data = { ...data, title: `错误：${data.title}` };
    const actor = ctx.state.actor as Actor | undefined;
    const pending = ctx.state.pendingStep as string | null | undefined;
    const items = actor && !pending ? this.nav.filter((item) => hasRole(actor, ...item.roles)) : [];
    // The current entry: the longest address the page's path starts with (/supervision/reports is not /supervision).
    const base = (href: string) => href.split(/[?#]/)[0]!;
    const within = (href: string) => (href === '/' ? ctx.path === '/' : ctx.path === href || ctx.path.startsWith(`${href}/`));
    const current = items.filter((item) => within(base(item.href))).sort((a, b) => base(b.href).length - base(a.href).length)[0];
    const nav = items.map((item) => ({ ...item, current: item === current }));
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = this.views.render(template, {
      actor,
      actorRoles: actor?.roles.map((r) => ROLE_LABELS[r]).join('、'),
      nav,
      csrfToken: ctx.state.csrfToken,
      flash: ctx.state.flash as Flash | null,
      demo: this.core.config.demo,
      // The portal's pages (/public/…) link back to the public column's home, of the county asked for.
      portalHome: ctx.path.startsWith('/public/') ? `/public${/^[1-9]\d{0,9}$/.test(String(ctx.query.county ?? '')) ? `?county=${ctx.query.county}` : ''}` : null,
      ...data,
    });
  }

  /** Post/redirect/get with a message shown once on the next page. */
  async redirectWith(ctx: Context, to: string, flash: Flash): Promise<void> {
    const session = ctx.state.session as SessionRow | undefined;
    if (session) await setFlash(this.core.db, session.id, flash);
    this.redirect(ctx, to);
  }

  /**
   * A form posted to a command: success redirects (post/redirect/get) with the command's message, to `to` unless the
   * outcome names another page; a refusal is shown on the form's page — a ConflictError (state, amounts) with status
   * 409, a four-eyes refusal with 403, a ValidationError with its field errors and what was typed, 422. Anything
   * else (a role refusal: the page never offered the step) propagates.
   */
  async formStep(ctx: Context, to: string, run: () => Promise<StepOutcome>, page: (extra: Record<string, unknown>, status: number) => Promise<void>): Promise<void> {
    let outcome: StepOutcome;
    try {
      outcome = await run();
    } catch (err) {
      if (err instanceof ConflictError) return page({ conflict: err.message }, 409);
      if (err instanceof FourEyesError) return page({ conflict: err.message }, 403);
      if (err instanceof ImportRefused) return page(err.extra, 422);
      if (!(err instanceof ValidationError)) throw err;
      return page({ errors: err.fieldErrors, values: ctx.request.body }, 422);
    }
    const { message, kind = 'success', to: next = to } = typeof outcome === 'string' ? { message: outcome } : outcome;
    await this.redirectWith(ctx, next, { kind, message });
  }

  /** A file to save (Content-Disposition attachment, the Chinese name encoded per RFC 5987). */
  sendFile(ctx: Context, name: string, type: string, body: Buffer): void {
    ctx.type = type;
    ctx.set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`);
    ctx.body = body;
  }

  /**
   * An import refused whole: its report stashed for this user to download, and what the page shows (the first
   * errors, the count, the report's address). Pages render it with the importRefusal macro.
   */
  async importRefusal(ctx: Context, what: string, fileName: string, errors: ImportError[], report: Buffer): Promise<ImportRefusal> {
    const base = fileName.replace(/\.(xlsx|csv)$/i, '');
    const token = await stashDownload(this.core, this.actor(ctx).userId, `${what}错误报告-${base}.xlsx`, XLSX_TYPE, report);
    const rows = new Set(errors.map((e) => e.rowNumber));
    return { count: errors.length, rows: rows.size, shown: errors.slice(0, SHOWN_IMPORT_ERRORS).map(formatImportError), reportUrl: `/downloads/${token}` };
  }

  /** The panels the modules add to a page, for this actor, in module order (see AppModule.panels). */
  async panels(page: keyof PanelProviders, actor: Actor, id: number): Promise<PagePanel[]> {
    const panels: PagePanel[] = [];
    for (const provider of this.panelProviders) {
      const panel = await provider[page]?.(actor, id);
      if (panel) panels.push(panel);
    }
    return panels;
  }

  /** A plain 303: htmx follows it too, and a browser without JavaScript gets the same page. */
  redirect(ctx: Context, to: string): void {
    ctx.status = 303;
    ctx.redirect(to);
  }
}

/** Only a local path may be a redirect target ("/x", never "//host" or "http://"). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\w\-./?=&%]*$/.test(next) ? next : '/';
}
