import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

/** RFC 6238 as every authenticator app implements it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of now (clock drift between phone and server). */
export const TOTP_WINDOW = 1;

export interface TotpEnrollment {
  /** Base32, as apps and `oathtool -b` take it. */
  secret: string;
  /** The same secret in groups of four, for typing into an app by hand. */
  manual_entry_key: string;
  otpauth_uri: string;
  qr_svg: string;
  qr_data_url: string;
}

/** A new 160-bit secret (RFC 4226 §4 recommends 160) from the CSPRNG, in base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, issuer = 'Gatehouse', label = 'user'): TOTP {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD });
}

/** What the user needs to add the secret to an app: URI, QR code (SVG and PNG data URL) and a readable key. */
export async function totpEnrollment(secretBase32: string, issuer: string, account: string): Promise<TotpEnrollment> {
  const uri = totp(secretBase32, issuer, account).toString();
  const [qrSvg, qrDataUrl] = await Promise.all([
    QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
    QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2 }),
  ]);
  return {
    secret: secretBase32,
    manual_entry_key: secretBase32.match(/.{1,4}/g)!.join(' '),
    otpauth_uri: uri,
    qr_svg: qrSvg,
    qr_data_url: qrDataUrl,
  };
}

/**
 * Checks a code against the secret at `now` (±1 step). Returns the matched time step, which callers record so the
 * same code is never accepted twice; null when the code matches no step in the window.
 */
export function matchTotp(secretBase32: string, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secretBase32).validate({ token: code, timestamp: now, window: TOTP_WINDOW });
  if (delta === null) return null;
  return TOTP.counter({ period: TOTP_PERIOD, timestamp: now }) + delta;
}

/** The code for a time (tests and tooling). */
export function totpCode(secretBase32: string, now = Date.now()): string {
  return totp(secretBase32).generate({ timestamp: now });
}
