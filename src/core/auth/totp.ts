import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';

/** TOTP (RFC 6238, 6 digits, 30 s), as every authenticator app on a phone speaks it. */
const PERIOD = 30;
const ISSUER = '一卡通平台';

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

function totp(secret: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: OTPAuth.Secret.fromBase32(secret) });
}

export function totpUri(secret: string, label: string): string {
  return totp(secret, label).toString();
}

/** The QR code of the enrolment URI as an SVG data URI (served inline as an image; no script). */
export async function totpQrDataUri(secret: string, label: string): Promise<string> {
  const svg = await QRCode.toString(totpUri(secret, label), { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/**
 * The time step of a valid code (one step of clock drift either way), or null. The caller refuses a step that
 * is not later than the last one accepted, so that a code cannot be replayed.
 */
export function acceptedTotpStep(secret: string, code: string, now = Date.now()): number | null {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totp(secret, 'check').validate({ token, timestamp: now, window: 1 });
  if (delta === null) return null;
  return Math.floor(now / 1000 / PERIOD) + delta;
}

/** The current code (for tests and the demo helper). */
export function currentTotpCode(secret: string, now = Date.now()): string {
  return totp(secret, 'check').generate({ timestamp: now });
}
