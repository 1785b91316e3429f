import type Router from '@koa/router';
import type { Actor, Role } from './auth/roles.ts';
import type { Web } from './web/web.ts';

/**
 * What a bounded module (policy, beneficiary, batch, bank, publicity, supervision) hands the composition root:
 * its routes, its navigation entries, and the work queues it adds to role home pages.
 */
export interface NavItem {
  href: string;
  label: string;
  roles: readonly Role[];
}

export interface WorkQueue {
  title: string;
  count: number;
  /** Money waiting in this queue, in fen. */
  totalFen?: number;
  href: string;
  overdue?: number;
}

export interface AppModule {
  name: string;
  nav?: NavItem[];
  routes?: (router: Router, web: Web) => void;
  /** The queues this module contributes to the actor's home page (only those in the actor's scope and roles). */
  queues?: (actor: Actor) => Promise<WorkQueue[]>;
}
