import type Router from '@koa/router';
import type { AuditVocabulary } from './audit-vocabulary.ts';
import type { ColumnMappingKind } from './column-mapping.ts';
import type { Actor } from './auth/roles.ts';
import type { Core } from './context.ts';
import type { DeadlineRule } from './deadlines.ts';
import type { EventHandler } from './events.ts';
import type { ModuleMove } from './county-move.ts';
import type { Rekeyer } from './key-rotation.ts';
import type { TaskDefinition } from './scheduler.ts';
import type { NavItem, PagePanel, PanelProviders, Web } from './web/web.ts';

export type { NavItem, PagePanel, PanelProviders };

/** One line of a role's home page: work waiting for that role, with its count and money. */
export interface WorkQueue {
  title: string;
  count: number;
  /** Money waiting in this queue, in fen. */
  totalFen?: number;
  href: string;
  overdue?: number;
}

/**
 * What a bounded module (policy, beneficiary, agreement, batch, bank, …) hands the composition root:
 * its routes, its navigation entries, the work queues it adds to role home pages, its tasks and deadline rules, and
 * how the audit log reads it.
 */
export interface AppModule {
  name: string;
  nav?: NavItem[];
  routes?: (router: Router, web: Web) => void;
  /** The queues this module contributes to the actor's home page (only those in the actor's scope and roles). */
  queues?: (actor: Actor) => Promise<WorkQueue[]>;
  /** Its scheduled tasks (quarterly reconciliation, publicity periods ending, …). */
  tasks?: (core: Core) => TaskDefinition[];
  /** The rules of the clocks (限时办理) it opens, with their default lengths: the 时限设置 page lists them. */
  deadlineRules?: DeadlineRule[];
  /** How it reacts to events other modules write to the outbox, by event type. */
  events?: Record<string, EventHandler>;
  /** Its JSON API for machines under /api/v1 (bearer tokens, see core/api.ts), and the OpenAPI paths describing it. */
  api?: { routes: (router: Router) => void; openapi: Record<string, unknown>; schemas?: Record<string, unknown> };
  /** Sections it adds to lower modules' pages: a lower module shows them without importing this one. */
  panels?: PanelProviders;
  /** The labels and sentences of the audit actions it writes, and the kinds of object they name. */
  audit?: AuditVocabulary;
  /** The kinds of file it imports whose columns a region may map (core/column-mapping.ts, the 列对应关系 page). */
  columnMappings?: ColumnMappingKind[];
  /** How it rewrites its encrypted fields and blind indexes when the field key changes (core/key-rotation.ts). */
  rekey?: Rekeyer;
  /** How its tables move when a county moves onto a central deployment (core/county-move.ts). */
  move?: ModuleMove;
}
