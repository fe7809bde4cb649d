import { describe, expect, it } from 'vitest';
import { assessLoginRisk, currentSignals, impossibleTravel, networkOf, type KnownSignal } from './login-risk.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0';

function history(ip: string, ua: string, hours: number[]): KnownSignal[] {
  const s = currentSignals(ip, ua, null);
  return [
    { kind: 'device', value: s.device, seen_count: hours.length, last_seen: new Date() },
    { kind: 'network', value: s.network, seen_count: hours.length, last_seen: new Date() },
    ...hours.map((h) => ({ kind: 'hour' as const, value: String(h).padStart(2, '0'), seen_count: 1, last_seen: new Date() })),
  ];
}

describe('login risk', () => {
  it('a first sign-in from a browser is not risky', () => {
    const r = assessLoginRisk([], currentSignals('198.51.100.4', FIREFOX, null), { userAgent: FIREFOX, recentFailures: 0 });
    expect(r).toEqual({ score: 0, reasons: [] });
  });

  it('the usual device and network is not risky; a new one is, with its reasons', () => {
    const known = history('198.51.100.4', FIREFOX, [9, 10, 11]);
    expect(assessLoginRisk(known, currentSignals('198.51.100.77', FIREFOX, null), { userAgent: FIREFOX, recentFailures: 0 }).reasons).toEqual([]);
    const r = assessLoginRisk(known, currentSignals('203.0.113.9', 'Mozilla/5.0 (Windows NT 10.0) Chrome/130', null), { userAgent: 'Mozilla/5.0 (Windows NT 10.0) Chrome/130', recentFailures: 0 });
    expect(r.reasons).toEqual(['new_device', 'new_network']);
    expect(r.score).toBe(0.45);
  });

  it('flags unusual hours, rapid attempts and scripted clients; the score is capped at 1', () => {
    const known = history('198.51.100.4', FIREFOX, [9, 9, 10, 10, 10, 11, 11, 9, 10, 11]);
    const at3am = currentSignals('198.51.100.4', FIREFOX, null, new Date('2026-03-01T03:00:00Z'));
    expect(assessLoginRisk(known, at3am, { userAgent: FIREFOX, recentFailures: 0 }).reasons).toEqual(['unusual_hour']);
    const at8am = currentSignals('198.51.100.4', FIREFOX, null, new Date('2026-03-01T08:30:00Z'));
    expect(assessLoginRisk(known, at8am, { userAgent: FIREFOX, recentFailures: 0 }).reasons).toEqual([]);
    const worst = assessLoginRisk(known, currentSignals('203.0.113.1', 'curl/8.5.0', null, new Date('2026-03-01T03:00:00Z')), { userAgent: 'curl/8.5.0', recentFailures: 4 });
    expect(worst.reasons).toEqual(['new_device', 'new_network', 'unusual_hour', 'rapid_attempts', 'bot_user_agent']);
    expect(worst.score).toBe(1);
  });

  it('uses the user time zone for the hour and networks, not addresses', () => {
    expect(currentSignals(null, null, 'America/Sao_Paulo', new Date('2026-03-01T12:00:00Z')).hour).toBe('09');
    expect(currentSignals(null, null, 'Not/AZone', new Date('2026-03-01T12:00:00Z')).hour).toBe('12');
    expect(networkOf('192.0.2.55')).toBe('192.0.2.0/24');
    expect(networkOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
  });
});

describe('impossible travel', () => {
  const at = new Date('2026-11-25T12:00:00Z');
  const geo = (value: string, minutesAgo: number): KnownSignal => ({
    kind: 'geo',
    value,
    seen_count: 1,
    last_seen: new Date(at.getTime() - minutesAgo * 60_000),
  });
  const LISBON = '38.7,-9.1';
  const TOKYO = '35.7,139.7';
  const PORTO = '41.1,-8.6';

  it('Lisbon then Tokyo an hour later is impossible; twelve hours later a flight could have done it (14 h needed)', () => {
    expect(impossibleTravel([geo(LISBON, 60)], TOKYO, at)).toBe(true);
    expect(impossibleTravel([geo(LISBON, 20 * 60)], TOKYO, at)).toBe(false);
  });

  it('compares with the newest located sign-in, not an older one', () => {
    expect(impossibleTravel([geo(LISBON, 600), geo(TOKYO, 30)], TOKYO, at)).toBe(false);
    expect(impossibleTravel([geo(TOKYO, 600), geo(LISBON, 30)], TOKYO, at)).toBe(true);
  });

  it('a nearby place is never impossible, however fast; no history or no location is never impossible', () => {
    expect(impossibleTravel([geo(LISBON, 1)], PORTO, at)).toBe(false);
    expect(impossibleTravel([], TOKYO, at)).toBe(false);
    expect(impossibleTravel([geo(LISBON, 1)], null, at)).toBe(false);
  });

  it('adds its weight and reason to the score', () => {
    const now = { ...currentSignals('198.51.100.4', FIREFOX, null, at), geo: TOKYO };
    const r = assessLoginRisk([geo(LISBON, 60)], now, { userAgent: FIREFOX, recentFailures: 0, at });
    expect(r.reasons).toEqual(['impossible_travel']);
    expect(r.score).toBe(0.5);
  });
});
