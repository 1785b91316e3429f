import type { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors.ts';

/**
 * Validate input from outside (a form, a query string) against a zod schema whose messages are in Chinese.
 * Returns the parsed data, or throws ValidationError keyed by field (the first message for each field).
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const errors: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const field = issue.path.length ? String(issue.path[0]) : '_form';
    errors[field] ??= issue.message;
  }
  throw new ValidationError(errors);
}

/** A positive integer id from a URL segment; anything else is a 404, never a crash. */
export function parseId(value: string | undefined): number | null {
  if (!value || !/^[1-9]\d{0,9}$/.test(value)) return null;
  return Number(value);
}

/** An id from a URL segment, or 404 "<what>不存在". */
export function requireId(value: string | undefined, what: string): number {
  const id = parseId(value);
  if (id === null) throw new NotFoundError(`${what}不存在`);
  return id;
}
