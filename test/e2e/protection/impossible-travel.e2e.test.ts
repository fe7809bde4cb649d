import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.ts';
import { createGatehouse } from '../../../src/context.ts';
import { cityRecord, writeMmdb } from '../../helpers/mmdb-writer.ts';
import { backendName, bearer, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0';
const LISBON = '203.0.113.10';
const PORTO = '192.0.2.10';
const TOKYO = '198.51.100.10';

describe(`impossible travel from a MaxMind-format GeoIP database (${backendName})`, () => {
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'gh-geoip-'));
  const dbFile = join(dir, 'city.mmdb');

  const signIn = (slug: string, ip: string) =>
    t.app.inject({
      method: 'POST',
      url: `/t/${slug}/api/v1/auth/login`,
      payload: { email: `admin@${slug}.test`, password: STRONG_PASSWORD },
      remoteAddress: ip,
      headers: { 'user-agent': FIREFOX },
    });
  const latest = async (slug: string, token: string, action: string) =>
    (await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/audit?action=${action}`, headers: bearer(token) })).json().events as {
      details: { risk_score: number; risk_reasons: string[] };
    }[];

  beforeAll(async () => {
    writeFileSync(
      dbFile,
      writeMmdb({
        '203.0.113.0/24': cityRecord('Lisbon', 'PT', 38.7223, -9.1393),
        '192.0.2.0/24': cityRecord('Porto', 'PT', 41.1579, -8.6291),
        '198.51.100.0/24': cityRecord('Tokyo', 'JP', 35.6762, 139.6503),
      }),
    );
    t = await buildTestApp({ GATEHOUSE_GEOIP_DB: dbFile });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Lisbon, then Tokyo minutes later: impossible_travel in the audit event, recorded as suspicious', async () => {
    await createTenant(t, 'travel');
    expect((await signIn('travel', LISBON)).statusCode).toBe(200);
    const far = await signIn('travel', TOKYO);
    expect(far.statusCode).toBe(200);
    const token = far.json().access_token as string;
    const [event] = await latest('travel', token, 'login.succeeded');
    expect(event!.details.risk_reasons).toEqual(['new_network', 'impossible_travel']);
    expect(event!.details.risk_score).toBe(0.7);
    expect(await latest('travel', token, 'login.suspicious')).toHaveLength(1);
  });

  it('Lisbon, then Porto (about 275 km) minutes later is a new network but not impossible', async () => {
    await createTenant(t, 'nearby');
    expect((await signIn('nearby', LISBON)).statusCode).toBe(200);
    const near = await signIn('nearby', PORTO);
    const [event] = await latest('nearby', near.json().access_token, 'login.succeeded');
    expect(event!.details.risk_reasons).toEqual(['new_network']);
  });

  it('an address the database does not know adds nothing and forgets nothing', async () => {
    await createTenant(t, 'unknown-place');
    expect((await signIn('unknown-place', LISBON)).statusCode).toBe(200);
    expect((await signIn('unknown-place', '100.64.0.1')).statusCode).toBe(200);
    // The last located sign-in is still Lisbon: Tokyo now is impossible.
    const tokyo = await signIn('unknown-place', TOKYO);
    const [event] = await latest('unknown-place', tokyo.json().access_token, 'login.succeeded');
    expect(event!.details.risk_reasons).toContain('impossible_travel');
  });

  it('a GATEHOUSE_GEOIP_DB that is not a MaxMind database fails the start, naming the variable', async () => {
    const bad = join(dir, 'not.mmdb');
    writeFileSync(bad, 'definitely not a database');
    const config = loadConfig({ GATEHOUSE_DATA_DIR: dir, GATEHOUSE_GEOIP_DB: bad, GATEHOUSE_LOG_LEVEL: 'silent' });
    await expect(createGatehouse(config, { inMemory: true })).rejects.toThrow(/^GATEHOUSE_GEOIP_DB: cannot open/);
  });
});
