/**
 * Seeds an embedded (PGlite) data directory with N tenants, fast, with SQL: migrations, then per tenant the rows a
 * tenant created through the API has: the tenant, one active ES256 signing key (generated here and sealed with
 * GATEHOUSE_MASTER_KEY exactly as Gatehouse seals it), an admin user (all admins share one real argon2id hash of
 * the bench password) and the tenant.created audit event. PGlite's user is a superuser, so RLS does not apply and
 * tenant_id is set explicitly.
 *
 * Usage (child process): seed-tenants.ts DATA_DIR COUNT; prints `BENCH_READY {"seconds":...}` when done.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { Algorithm, hash } from '@node-rs/argon2';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { createPgliteDatabase } from '../../src/db/pglite.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createSealer } from '../../src/keys/master-key.ts';
import { PASSWORD } from './gatehouse.ts';

const [dataDir, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!dataDir || !Number.isInteger(count) || count < 1) throw new Error('usage: seed-tenants.ts DATA_DIR COUNT');
const masterKey = process.env.GATEHOUSE_MASTER_KEY;
if (!masterKey) throw new Error('GATEHOUSE_MASTER_KEY is required');

const started = performance.now();
const sealer = createSealer(masterKey);
const db = await createPgliteDatabase(join(dataDir, 'pgdata'));
await migrate(db);
const adminHash = await hash(PASSWORD, { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });

const slug = (i: number) => `tenant-${String(i).padStart(6, '0')}`;
await db.query(
  `INSERT INTO tenants (slug, name, plan) SELECT 'tenant-' || lpad(g::text, 6, '0'), 'Tenant ' || g, 'basic' FROM generate_series(1, $1::int) g`,
  [count],
);
const tenants = (await db.query<{ id: string; slug: string }>(`SELECT id, slug FROM tenants ORDER BY slug`)).rows;
if (tenants.length !== count || tenants[0]!.slug !== slug(1)) throw new Error('tenant seeding went wrong');

await db.query(
  `INSERT INTO users (tenant_id, email, email_verified, password_hash, role)
   SELECT id, 'admin@' || slug || '.bench', true, $1, 'admin' FROM tenants`,
  [adminHash],
);
await db.query(
  `INSERT INTO audit_events (tenant_id, actor_type, action, details)
   SELECT id, 'platform', 'tenant.created', jsonb_build_object('slug', slug, 'plan', plan) FROM tenants`,
);

// BENCH_SEED_KEYS=0 leaves the tenants without signing keys (to check that start-up does not depend on them).
const CHUNK = 1000;
for (let i = 0; process.env.BENCH_SEED_KEYS !== '0' && i < tenants.length; i += CHUNK) {
  const rows = [];
  for (const t of tenants.slice(i, i + CHUNK)) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = await exportJWK(pair.publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    rows.push({
      kid,
      tenant_id: t.id,
      alg: 'ES256',
      public_jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' },
      private_key_enc: sealer.seal(pem, `signing-key:${t.id}:${kid}`),
    });
  }
  await db.query(
    `INSERT INTO signing_keys (kid, tenant_id, alg, public_jwk, private_key_enc, status)
     SELECT kid, tenant_id, alg, public_jwk, private_key_enc, 'active'
     FROM jsonb_to_recordset($1::jsonb) AS r(kid text, tenant_id uuid, alg text, public_jwk jsonb, private_key_enc text)`,
    [JSON.stringify(rows)],
  );
}
await db.exec('VACUUM ANALYZE');
await db.close();
process.stdout.write('BENCH_READY ' + JSON.stringify({ seconds: (performance.now() - started) / 1000, count }) + '\n');
process.exit(0);
