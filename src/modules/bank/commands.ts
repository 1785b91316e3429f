import { agreementInForce } from '../../core/agreements.ts';
import type { ApiClient } from '../../core/api.ts';
import { apiAuditor } from '../../core/api.ts';
import { recordAudit } from '../../core/audit.ts';
import { type Actor, hasRole } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { sm3Hex } from '../../core/crypto.ts';
import { businessDate } from '../../core/dates.ts';
import { inTransaction } from '../../core/db.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { type RoundRow, releasedAt, releasedLines, roundsOfBank } from '../batch/index.ts';
import { accountNumbersById } from '../beneficiary/index.ts';
import { versionsById } from '../policy/index.ts';
import { type PayoutDocument, PAYOUT_FORMATS, lineRef } from './payout.ts';

/**
 * The agent bank's side of a released round: its users (or its API token) fetch the payout file. The file is the
 * same bytes at every download (it is dated by the release, not the download), so its SM3 checksum can be
 * fetched beside it; every download is audited with that checksum.
 */
export type Fetcher = { actor: Actor; client?: never } | { client: ApiClient; actor?: never };

export function bankOf(who: Fetcher): number {
  if (who.client) {
    if (who.client.purpose !== 'bank' || who.client.orgId === null) throw new ForbiddenError('该接口令牌不是代发金融机构的令牌');
    return who.client.orgId;
  }
  if (!hasRole(who.actor, 'bank') || who.actor.orgId === null) throw new ForbiddenError('代发文件由代发金融机构下载');
  return who.actor.orgId;
}

/** The rounds released to the fetcher's bank. */
export async function bankRounds(core: Core, who: Fetcher): Promise<RoundRow[]> {
  return roundsOfBank(core.db, bankOf(who));
}

export interface PayoutFile {
  fileName: string;
  contentType: string;
  body: Buffer;
  sm3: string;
  lines: number;
  totalFen: number;
}

export async function payoutFile(core: Core, who: Fetcher, roundId: number, formatCode: string): Promise<PayoutFile> {
  const format = PAYOUT_FORMATS.find((f) => f.code === formatCode);
  if (!format) throw new ValidationError({ format: `格式应为${PAYOUT_FORMATS.map((f) => f.code).join('、')}之一` });
  const bankOrgId = bankOf(who);
  const round = (await roundsOfBank(core.db, bankOrgId)).find((r) => r.id === roundId);
  if (!round) throw new NotFoundError('没有下达给本机构的该发放批次');
  const released = (await releasedAt(core.db, roundId)) ?? round.created_at;
  const [version] = await versionsById(core.db, [round.policy_version_id]);
  const agreement = await agreementInForce(core.db, { countyId: round.county_id, bankOrgId, on: businessDate(new Date(released)), townshipIds: [] });
  const lines = await releasedLines(core.db, roundId);
  const accounts = await accountNumbersById(core.db, core.crypto, lines.flatMap((l) => (l.account_id === null ? [] : [Number(l.account_id)])));
  const missing = lines.find((l) => l.account_id === null || !accounts.has(Number(l.account_id)));
  if (missing) throw new ConflictError('批次中有明细没有发放账户，不能生成代发文件');
  const bank = await core.db('core_org').where({ id: bankOrgId }).first('name');
  const doc: PayoutDocument = {
    roundId,
    title: round.title,
    period: round.period,
    policy: `${version!.code} ${version!.name}`,
    bank: bank.name,
    agreementNo: typeof agreement === 'string' ? '' : agreement.agreement_no,
    generatedAt: released,
    count: lines.length,
    totalFen: lines.reduce((sum, l) => sum + Number(l.amount_fen), 0),
    lines: lines.map((l) => ({ ref: lineRef(roundId, Number(l.line_id)), name: l.holder_name ?? l.person_name, account: accounts.get(Number(l.account_id))!, amountFen: Number(l.amount_fen) })),
  };
  const body = await format.write(doc);
  const file = { fileName: `代发文件-R${roundId}-${round.period}${format.code === 'csv-gb18030' ? '-GB18030' : ''}.${format.extension}`, contentType: format.contentType, body, sm3: sm3Hex(body), lines: doc.count, totalFen: doc.totalFen };
  await inTransaction(core.db, (trx) =>
    recordAudit(trx, who.actor ?? apiAuditor(who.client), { action: 'bank.payout.download', objectType: 'round', objectId: roundId, summary: { format: format.code, lines: file.lines, totalFen: file.totalFen, sm3: file.sm3 } }),
  );
  return file;
}
