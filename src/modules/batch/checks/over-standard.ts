import { multiplyFen } from '../../../core/money.ts';
import type { CheckRule } from './rule.ts';

/** The standard is the policy's, for the line's tier, and the amount is standard × quantity: nothing above it. */
export const overStandard: CheckRule = {
  code: 'over-standard',
  label: '超标准发放',
  severity: 'blocking',
  check({ lines, version }) {
    const standards = new Map(version.tiers.map((t) => [t.name, t.standardFen]));
    return lines.flatMap((l) => {
      const standard = standards.get(l.tier_name);
      if (standard === undefined) return [{ lineId: l.id, message: `档次“${l.tier_name}”不是本补贴的标准档次` }];
      if (l.standard_fen > standard) return [{ lineId: l.id, message: `标准 ${l.standard_fen} 分高于政策标准 ${standard} 分` }];
      if (l.amount_fen > multiplyFen(standard, l.quantity_milli)) return [{ lineId: l.id, message: '金额超过标准 × 数量' }];
      return [];
    });
  },
};
