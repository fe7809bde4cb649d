import { isIPv4 } from 'node:net';
import { sha256 } from '../shared/crypto.ts';

export type RiskReason = 'new_device' | 'new_network' | 'unusual_hour' | 'rapid_attempts' | 'bot_user_agent';

export interface KnownSignal {
  kind: 'device' | 'network' | 'hour';
  value: string;
  seen_count: number;
}

/** This sign-in's signals, as stored (digests; the hour in the user's time zone). */
export interface CurrentSignals {
  device: string;
  network: string;
  hour: string;
}

export interface RiskAssessment {
  /** 0..1 (seed conflict C20); `score_100` is the same on the 0-100 scale. */
  score: number;
  reasons: RiskReason[];
}

const WEIGHTS: Record<RiskReason, number> = {
  new_device: 0.25,
  new_network: 0.2,
  unusual_hour: 0.15,
  rapid_attempts: 0.3,
  bot_user_agent: 0.4,
};

const BOT_UA = /curl|wget|python-requests|python-urllib|aiohttp|httpclient|okhttp|go-http-client|java\/|libwww|scrapy|headless|phantomjs|selenium|puppeteer|playwright|\bbot\b|spider|crawler/i;

/** The network an address belongs to: /24 for IPv4, /64 for IPv6, so a DHCP renewal is not a "new network". */
export function networkOf(ip: string): string {
  if (isIPv4(ip)) return ip.split('.').slice(0, 3).join('.') + '.0/24';
  const groups = ip.split(':');
  return groups.slice(0, 4).join(':') + '::/64';
}

const hourFormats = new Map<string, Intl.DateTimeFormat>();
function hourIn(timeZone: string | null, at: Date): string {
  const tz = timeZone ?? 'UTC';
  let f = hourFormats.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hourCycle: 'h23', timeZone: tz });
    } catch {
      f = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });
    }
    hourFormats.set(tz, f);
  }
  return f.format(at);
}

export function currentSignals(ip: string | null, userAgent: string | null, timeZone: string | null, at = new Date()): CurrentSignals {
  return {
    device: sha256(`ua:${(userAgent ?? '').trim().toLowerCase()}`).slice(0, 22),
    network: sha256(`net:${ip ? networkOf(ip) : 'unknown'}`).slice(0, 22),
    hour: hourIn(timeZone, at),
  };
}

/**
 * Scores a sign-in against the user's history. Novelty only counts once there is a history to be new against
 * (a first sign-in is not "new device"); an hour is unusual after 10 sign-ins of which none fell within an hour of
 * it. Impossible travel needs a GeoIP database and is not assessed yet.
 */
export function assessLoginRisk(
  known: KnownSignal[],
  now: CurrentSignals,
  extra: { userAgent: string | null; recentFailures: number },
): RiskAssessment {
  const reasons: RiskReason[] = [];
  const of = (kind: KnownSignal['kind']) => known.filter((k) => k.kind === kind);
  const devices = of('device');
  const networks = of('network');
  if (devices.length > 0 && !devices.some((d) => d.value === now.device)) reasons.push('new_device');
  if (networks.length > 0 && !networks.some((n) => n.value === now.network)) reasons.push('new_network');
  const hours = of('hour');
  const total = hours.reduce((a, h) => a + h.seen_count, 0);
  if (total >= 10) {
    const h = Number(now.hour);
    const near = new Set([h, (h + 1) % 24, (h + 23) % 24].map((x) => String(x).padStart(2, '0')));
    if (!hours.some((k) => near.has(k.value))) reasons.push('unusual_hour');
  }
  if (extra.recentFailures >= 3) reasons.push('rapid_attempts');
  if (!extra.userAgent || BOT_UA.test(extra.userAgent)) reasons.push('bot_user_agent');
  const score = Math.min(1, reasons.reduce((a, r) => a + WEIGHTS[r], 0));
  return { score: Math.round(score * 100) / 100, reasons };
}
