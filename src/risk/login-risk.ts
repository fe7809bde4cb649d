import { isIPv4 } from 'node:net';
import { sha256 } from '../shared/crypto.ts';
import { distanceKm, geoValue, parseGeoValue, type GeoPoint } from './geoip.ts';

export type RiskReason = 'new_device' | 'new_network' | 'unusual_hour' | 'rapid_attempts' | 'bot_user_agent' | 'impossible_travel';

export interface KnownSignal {
  kind: 'device' | 'network' | 'hour' | 'geo';
  value: string;
  seen_count: number;
  last_seen: Date;
}

/** This sign-in's signals, as stored (digests; the hour in the user's time zone; the rounded location when known). */
export interface CurrentSignals {
  device: string;
  network: string;
  hour: string;
  geo: string | null;
}

/** Farther than this from the previous sign-in's place, faster than an airliner: not the same person travelling. */
const TRAVEL_MIN_KM = 500;
const TRAVEL_MAX_KMH = 1000;

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
  impossible_travel: 0.5,
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

export function currentSignals(
  ip: string | null,
  userAgent: string | null,
  timeZone: string | null,
  at = new Date(),
  place: GeoPoint | null = null,
): CurrentSignals {
  return {
    device: sha256(`ua:${(userAgent ?? '').trim().toLowerCase()}`).slice(0, 22),
    network: sha256(`net:${ip ? networkOf(ip) : 'unknown'}`).slice(0, 22),
    hour: hourIn(timeZone, at),
    geo: place ? geoValue(place) : null,
  };
}

/**
 * Impossible travel: the previous located sign-in was more than 500 km away and reaching here since would take
 * more than 1000 km/h (a minute's gap counts as a minute, so two places at once are caught too).
 */
export function impossibleTravel(known: KnownSignal[], here: string | null, at: Date): boolean {
  if (!here) return false;
  let last: KnownSignal | undefined;
  for (const k of known) if (k.kind === 'geo' && (!last || k.last_seen > last.last_seen)) last = k;
  const from = last && parseGeoValue(last.value);
  const to = parseGeoValue(here);
  if (!from || !to || !last) return false;
  const km = distanceKm(from, to);
  const hours = Math.max((at.getTime() - new Date(last.last_seen).getTime()) / 3_600_000, 1 / 60);
  return km > TRAVEL_MIN_KM && km / hours > TRAVEL_MAX_KMH;
}

/**
 * Scores a sign-in against the user's history. Novelty only counts once there is a history to be new against
 * (a first sign-in is not "new device"); an hour is unusual after 10 sign-ins of which none fell within an hour of
 * it. Impossible travel is assessed when a GeoIP database locates this and an earlier sign-in.
 */
export function assessLoginRisk(
  known: KnownSignal[],
  now: CurrentSignals,
  extra: { userAgent: string | null; recentFailures: number; at?: Date },
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
  if (impossibleTravel(known, now.geo, extra.at ?? new Date())) reasons.push('impossible_travel');
  const score = Math.min(1, reasons.reduce((a, r) => a + WEIGHTS[r], 0));
  return { score: Math.round(score * 100) / 100, reasons };
}
