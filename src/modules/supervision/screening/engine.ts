import { changedAfterPublicity } from './changed-after-publicity.ts';
import { exclusivePolicies } from './exclusive-policies.ts';
import { paidAfterDeath } from './paid-after-death.ts';
import { roundChecks } from './round-checks.ts';
import type { ScreeningRule } from './rule.ts';
import { severalTownships } from './several-townships.ts';
import { sharedAccount } from './shared-account.ts';
import { villageJump } from './village-jump.ts';

/** Every screening rule, in the order a run lists them. A county's own rule is one more file and one more entry here. */
export const SCREENING_RULES: ScreeningRule[] = [paidAfterDeath, sharedAccount, severalTownships, exclusivePolicies, changedAfterPublicity, villageJump, roundChecks];

export const SCREENING_RULE_LABELS: Record<string, string> = Object.fromEntries(SCREENING_RULES.map((r) => [r.code, r.label]));

/** The longest `supervision_finding.source_ref`: '<rule>:<subject>'. */
export const SOURCE_REF_LENGTH = 60;

/** A hit's name across runs, as its finding's source_ref. */
export function sourceRef(rule: ScreeningRule, subject: string): string {
  const ref = `${rule.code}:${subject}`;
  if (ref.length > SOURCE_REF_LENGTH) throw new Error(`筛查规则 ${rule.code} 的对象标识过长：${ref.length} 个字符`);
  return ref;
}
