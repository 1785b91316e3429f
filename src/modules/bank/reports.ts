import { formatDateTime } from '../../core/dates.ts';
import { formatYuan } from '../../core/money.ts';
import { createPdf, drawTable, pdfToBuffer } from '../../core/pdf.ts';
import type { ClearingFigures, PolicyClearing, ReconciliationFigures, ReconciliationRow } from './queries.ts';

/**
 * The layout of the bank module's kept reports, in one place: the signed quarterly reconciliation and the year-end
 * clearing. Both are made once, when the step that closes them is taken, and kept with their SM3; these functions
 * only lay out figures the callers have read (no database here).
 */

const PARTY_LABELS: Record<string, string> = { finance_section: '财政局业务科室', bank: '代发金融机构', department: '主管部门' };

export interface ReconciliationReport {
  rec: ReconciliationRow;
  figures: ReconciliationFigures;
  differences: { ref: string; platform: string; bank: string; resolution: string; resolvedBy: string }[];
  signatures: { party: string; signer_name: string; signed_at: string }[];
}

export function reconciliationReportPdf({ rec, figures, differences, signatures }: ReconciliationReport): Promise<Buffer> {
  const title = `惠民惠农补贴资金季度对账报告（${rec.quarter}）`;
  const pdf = createPdf({ title, landscape: true });
  pdf.font('zh-bold').fontSize(15).text(title, { align: 'center' });
  pdf.font('zh').fontSize(9).text(`${rec.county_name} · 代发金融机构：${rec.bank_name} · 截至 ${rec.period_end} 已拨付的批次 · 签认完成 ${formatDateTime(rec.signed_at)}`, { align: 'center' });
  pdf.moveDown(0.5);
  pdf.font('zh-bold').fontSize(11).text('一、分批次资金（元）');
  pdf.moveDown(0.2);
  drawTable(pdf, {
    columns: [{ header: '批次', width: 4 }, { header: '拨付', width: 1.4, align: 'right' }, { header: '已发放', width: 1.4, align: 'right' }, { header: '在银行未发放', width: 1.4, align: 'right' }, { header: '银行退回', width: 1.4, align: 'right' }, { header: '缴回财政', width: 1.4, align: 'right' }, { header: '待决定', width: 1.2, align: 'right' }, { header: '银行确认：已发放 / 未发放 / 已退回', width: 3 }],
    rows: figures.rounds.map((r) => {
      const b = figures.bankTotals?.get(r.id) ?? { paidFen: 0, unpaidFen: 0, refundedFen: 0 };
      return [r.title, formatYuan(r.ledger.transferredFen), formatYuan(r.ledger.paidFen), formatYuan(r.ledger.pendingFen), formatYuan(r.ledger.refundedFen), formatYuan(r.ledger.returnedFen), formatYuan(r.ledger.awaitingFen), `${formatYuan(b.paidFen)} / ${formatYuan(b.unpaidFen)} / ${formatYuan(b.refundedFen)}`];
    }),
    repeatHeader: true,
  });
  pdf.moveDown(0.6);
  pdf.font('zh-bold').fontSize(11).text('二、分补贴项目（元）');
  pdf.moveDown(0.2);
  drawTable(pdf, {
    columns: [{ header: '补贴项目', width: 4 }, { header: '笔数', width: 1, align: 'right' }, { header: '拨付', width: 1.5, align: 'right' }, { header: '已发放', width: 1.5, align: 'right' }, { header: '在银行未发放', width: 1.5, align: 'right' }, { header: '银行退回', width: 1.5, align: 'right' }, { header: '缴回财政', width: 1.5, align: 'right' }, { header: '待决定', width: 1.5, align: 'right' }],
    rows: figures.policies.map((p) => [p.policy, String(p.ledger.lines), formatYuan(p.ledger.transferredFen), formatYuan(p.ledger.paidFen), formatYuan(p.ledger.pendingFen), formatYuan(p.ledger.refundedFen), formatYuan(p.ledger.returnedFen), formatYuan(p.ledger.awaitingFen)]),
    repeatHeader: true,
  });
  pdf.moveDown(0.6);
  pdf.font('zh-bold').fontSize(11).text(`三、对账差异及处理（${differences.length} 笔）`);
  pdf.moveDown(0.2);
  if (differences.length) {
    drawTable(pdf, {
      columns: [{ header: '流水号', width: 2 }, { header: '平台', width: 2 }, { header: '银行确认', width: 2 }, { header: '处理', width: 5 }, { header: '处理人', width: 1.5 }],
      rows: differences.map((d) => [d.ref, d.platform, d.bank, d.resolution, d.resolvedBy]),
      repeatHeader: true,
    });
  } else pdf.font('zh').fontSize(9).text('银行确认与平台记录逐笔一致。');
  pdf.moveDown(0.6);
  pdf.font('zh-bold').fontSize(11).text('四、签认');
  pdf.moveDown(0.2);
  drawTable(pdf, { columns: [{ header: '单位', width: 2 }, { header: '签认人', width: 3 }, { header: '时间', width: 2 }], rows: signatures.map((s) => [PARTY_LABELS[s.party] ?? s.party, s.signer_name, formatDateTime(s.signed_at)]), repeatHeader: false });
  return pdfToBuffer(pdf);
}

export interface ClearingReport {
  county: string;
  year: number;
  voucherNo: string;
  figures: ClearingFigures;
  /** Who opened the clearing (the finance section) and when. */
  openedBy: string;
  openedAt: string;
  /** Each party and its confirmation (who, when); the finance section's last, which made the clearing final. */
  confirmations: { label: string; signer: string; at: string }[];
}

/** The year-end clearing report (A4 landscape): per policy, per agent bank, the definitions, the three parties' confirmations. */
export function clearingReportPdf({ county, year, voucherNo, figures, openedBy, openedAt, confirmations }: ClearingReport): Promise<Buffer> {
  const title = `${county}${year}年度惠民惠农补贴资金年末清算报告`;
  const pdf = createPdf({ title, landscape: true });
  pdf.font('zh-bold').fontSize(15).text(title, { align: 'center' });
  pdf.font('zh').fontSize(9).text(`财政局业务科室、主管部门、代发金融机构三方确认 · 清算缴款凭证：${voucherNo} · 开启：${openedBy} ${formatDateTime(openedAt)}`, { align: 'center' });
  pdf.moveDown(0.5);
  pdf.font('zh-bold').fontSize(11).text('一、分补贴项目（元）');
  pdf.moveDown(0.2);
  const policies = figures.policies;
  const total = (key: keyof PolicyClearing) => policies.reduce((s, p) => s + (p[key] as number), 0);
  drawTable(pdf, {
    columns: [{ header: '补贴项目', width: 3.4 }, { header: '确认部门', width: 1.8 }, { header: '批次', width: 0.6, align: 'right' }, { header: '资金指标', width: 1.4, align: 'right' }, { header: '已拨付', width: 1.4, align: 'right' }, { header: '已发放', width: 1.4, align: 'right' }, { header: '在银行未发放', width: 1.4, align: 'right' }, { header: '未拨付指标', width: 1.4, align: 'right' }, { header: '已暂缴回财政', width: 1.3, align: 'right' }, { header: '待决定（本次缴回）', width: 1.4, align: 'right' }, { header: '结余收回财政', width: 1.5, align: 'right' }],
    rows: [
      ...policies.map((p) => [p.policy, p.department || '（无本县实施部门，财政确认）', String(p.rounds), formatYuan(p.allocatedFen), formatYuan(p.firstTransferFen), formatYuan(p.paidFen), formatYuan(p.pendingFen), formatYuan(p.unspentFen), formatYuan(p.returnedFen), formatYuan(p.awaitingFen), formatYuan(p.clearedFen)]),
      ['合计', '', String(total('rounds')), formatYuan(total('allocatedFen')), formatYuan(total('firstTransferFen')), formatYuan(total('paidFen')), formatYuan(total('pendingFen')), formatYuan(total('unspentFen')), formatYuan(total('returnedFen')), formatYuan(total('awaitingFen')), formatYuan(total('clearedFen'))],
    ],
    repeatHeader: true,
  });
  pdf.moveDown(0.4);
  pdf.font('zh').fontSize(8.5).text(CLEARING_DEFINITION);
  pdf.moveDown(0.6);
  pdf.font('zh-bold').fontSize(11).text('二、分代发金融机构（元）');
  pdf.moveDown(0.2);
  if (figures.banks.length) {
    drawTable(pdf, {
      columns: [{ header: '代发金融机构', width: 4 }, { header: '批次', width: 0.8, align: 'right' }, { header: '拨付（含再次拨付）', width: 1.8, align: 'right' }, { header: '已发放', width: 1.6, align: 'right' }, { header: '在银行未发放', width: 1.6, align: 'right' }, { header: '退回原账户', width: 1.6, align: 'right' }],
      rows: figures.banks.map((b) => [b.bank, String(b.rounds), formatYuan(b.transferredFen), formatYuan(b.paidFen), formatYuan(b.pendingFen), formatYuan(b.refundedFen)]),
      repeatHeader: true,
    });
  } else pdf.font('zh').fontSize(9).text('该年度没有拨付到代发金融机构的批次。');
  pdf.moveDown(0.6);
  pdf.font('zh-bold').fontSize(11).text('三、各方确认');
  pdf.moveDown(0.2);
  drawTable(pdf, { columns: [{ header: '单位', width: 3 }, { header: '确认人', width: 3 }, { header: '时间', width: 2 }], rows: confirmations.map((c) => [c.label, c.signer, formatDateTime(c.at)]), repeatHeader: false });
  pdf.moveDown(0.4);
  pdf.font('zh').fontSize(8.5).text('在银行未发放的资金由代发金融机构发放或按发放失败的规定退回；暂缴回财政的人员仍在发放失败人员名单上，本人报备后可按规定补发。');
  return pdfToBuffer(pdf);
}

/** How the clearing's balance is defined, on the page and in the report (queries.ts PolicyClearing). */
export const CLEARING_DEFINITION =
  '结余收回财政 = 资金指标 − 已发放 − 在银行未发放 = 未拨付指标（资金指标 − 已拨付）+ 已暂缴回财政 + 待决定（退回原账户、尚未决定的资金，清算时缴回财政）。金额以分计算，以元列示。';
