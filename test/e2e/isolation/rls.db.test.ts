import { rememberHash } from '../../../src/passwords/password-history.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../../../src/audit/audit.ts';
import type { Database } from '../../../src/db/database.ts';
import { migrate } from '../../../src/db/migrate.ts';
import { withPlatformTx, withTenantTx } from '../../../src/db/tenant-tx.ts';
import { insertUser } from '../../../src/identity/user.queries.ts';
import { createSealer } from '../../../src/keys/master-key.ts';
import { insertSigningKey } from '../../../src/keys/signing-keys.ts';
import { createSession, revokeSessions, rotateRefreshToken } from '../../../src/session/session.queries.ts';
import { DEFAULT_SETTINGS } from '../../../src/tenancy/tenant.model.ts';
import { raiseAlert } from '../../../src/security/alerts.ts';
import { insertCredential } from '../../../src/webauthn/webauthn.queries.ts';
import { backendName, openTestDatabase } from '../../helpers/test-app.ts';
import { issueEmailToken } from '../../../src/email-flows/email-tokens.ts';
import { enqueueMail } from '../../../src/mail/outbox.ts';
import { setTenantSmtp } from '../../../src/mail/tenant-smtp.ts';
import { sha256 } from '../../../src/shared/crypto.ts';
import { assertAuditAppendOnly, assertNoBypass, assertTenantIsolation, tenantTables } from './rls-checks.ts';

/** Database-level isolation: the migrated schema and the tenant transaction, without the HTTP layer. */
describe(`row-level security, database level (${backendName})`, () => {
  let db: Database;
  let close: () => Promise<void>;
  const ids: Record<'a' | 'b', string> = { a: '', b: '' };
  const sealer = createSealer(randomBytes(32).toString('base64url'));

  /** Fills every tenant table for one tenant through the same queries the application uses. */
  async function seedTenant(slug: string): Promise<string> {
    const id = (
      await withPlatformTx(db, (tx) => tx.query<{ id: string }>(`INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, [slug]))
    ).rows[0]!.id;
    await withTenantTx(db, id, async (tx) => {
      await insertSigningKey(tx, sealer, 'ES256');
      for (const n of [1, 2]) {
        const user = (await insertUser(tx, { email: `u${n}@${slug}.test`, passwordHash: null, role: 'user', emailVerified: false, createdBy: null }))!;
        const s = await createSession(tx, { userId: user.id, ip: '127.0.0.1', userAgent: 'test', amr: ['pwd'], aal: 1 }, DEFAULT_SETTINGS);
        const rotated = await rotateRefreshToken(tx, s.refreshToken, DEFAULT_SETTINGS);
        expect(rotated.kind).toBe('rotated');
        await recordAudit(tx, { actorType: 'user', actorId: user.id }, { action: 'login.succeeded', subjectId: user.id });
        await rememberHash(tx, user.id, `$argon2id$v=19$m=8192,t=1,p=1$old${n}`, 5);
        if (n === 1) {
          await tx.query(`INSERT INTO webhook_endpoints (url, secret_enc) VALUES ($1, $2)`, [`http://127.0.0.1:9/${slug}`, sealer.seal('whsec_test', `webhook:${id}`)]);
        }
        // With the endpoint in place, an alert also queues its webhook delivery.
        await raiseAlert(tx, { type: 'multiple_failures', userId: user.id, details: { failures: 5 } });
        await tx.query(`INSERT INTO login_signals (user_id, kind, value) VALUES ($1, 'hour', '09')`, [user.id]);
        await insertCredential(tx, {
          userId: user.id,
          credentialId: randomBytes(32).toString('base64url'),
          publicKey: randomBytes(77).toString('base64url'),
          userHandle: randomBytes(16).toString('base64url'),
          counter: 0,
          transports: ['internal'],
          name: `Passkey ${n}`,
          aaguid: '00000000-0000-0000-0000-000000000000',
          deviceType: 'multi_device',
          backedUp: true,
        });
        await tx.query(`INSERT INTO mfa_factors (user_id, type, status, secret_enc) VALUES ($1, 'totp', 'active', $2)`, [user.id, sealer.seal('JBSWY3DPEHPK3PXP', `totp:${id}:${user.id}`)]);
        await tx.query(`INSERT INTO mfa_backup_codes (user_id, code_hash) VALUES ($1, $2)`, [user.id, `hash-${n}`]);
        // OAuth: a client, a code issued to it and a remembered consent.
        await tx.query(`INSERT INTO oauth_clients (client_id, name, type, token_endpoint_auth_method, grant_types, scopes) VALUES ($1, 'c', 'public', 'none', '{authorization_code}', '{openid}')`, [`ghc_${slug}_${n}`]);
        await tx.query(
          `INSERT INTO oauth_codes (code_hash, client_id, user_id, session_id, redirect_uri, code_challenge, scopes, auth_time, amr, acr, expires_at)
           VALUES ($1, $2, $3, $4, 'https://app.example/cb', 'x', '{openid}', now(), '{pwd}', 'urn:gatehouse:aal1', now() + interval '60 seconds')`,
          [`code-${slug}-${n}`, `ghc_${slug}_${n}`, user.id, s.session.id],
        );
        await tx.query(`INSERT INTO oauth_grants (user_id, client_id, scopes) VALUES ($1, $2, '{openid}')`, [user.id, `ghc_${slug}_${n}`]);
        // Back-channel logout: a grant of a client with a backchannel_logout_uri ends, its logout is queued.
        await tx.query(`UPDATE oauth_clients SET backchannel_logout_uri = 'https://app.example/bcl' WHERE client_id = $1`, [`ghc_${slug}_${n}`]);
        const grant = await createSession(tx, { userId: user.id, ip: null, userAgent: null, amr: ['pwd'], aal: 1, clientId: `ghc_${slug}_${n}` }, DEFAULT_SETTINGS);
        await revokeSessions(tx, [grant.session.id], 'logout');
        // Issue 5: a one-time email token, its mail in the outbox, an invitation.
        await issueEmailToken(tx, { purpose: 'password_reset', email: user.email, userId: user.id, tokenHash: sha256(`t${n}${slug}`), supersede: [], issue: true });
        await enqueueMail(tx, sealer, { id, name: slug, branding: {} }, { to: user.email, template: 'mfa_reset', data: {}, locale: 'en' });
        await tx.query(`INSERT INTO invitations (email, role, token_hash, expires_at) VALUES ($1, 'user', $2, now() + interval '1 day')`, [`i${n}@${slug}.test`, sha256(`i${n}${slug}`)]);
        if (n === 1) await setTenantSmtp(tx, sealer, `smtp://u:p@127.0.0.1:2525/${slug}`);
      }
    });
    return id;
  }

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase());
    await migrate(db);
    ids.a = await seedTenant('tenant-a');
    ids.b = await seedTenant('tenant-b');
  });
  afterAll(() => close());

  it('discovers every table with a tenant_id column', async () => {
    const tables = await tenantTables(db);
    expect(tables).toEqual(expect.arrayContaining(['users', 'sessions', 'refresh_tokens', 'signing_keys', 'audit_events']));
    expect(tables).not.toContain('tenants');
    expect(tables).not.toContain('platform_credentials');
  });

  it('the app role cannot bypass the policies (not owner, no BYPASSRLS, RLS forced, append-only audit)', async () => {
    await assertNoBypass(db);
  });

  it("inside A's transaction every statement is limited to A's rows, in every tenant table", async () => {
    await assertTenantIsolation(db, ids.a, ids.b);
    await assertTenantIsolation(db, ids.b, ids.a);
  });

  it('the app role cannot update or delete audit events, even its own tenant’s', async () => {
    await assertAuditAppendOnly(db, ids.a);
  });

  it('a new row takes the tenant of the transaction when tenant_id is omitted', async () => {
    const row = await withTenantTx(db, ids.a, async (tx) => {
      const r = await tx.query<{ tenant_id: string }>(
        `INSERT INTO users (email) VALUES ('default@tenant-a.test') RETURNING tenant_id`,
      );
      await tx.query(`DELETE FROM users WHERE email = 'default@tenant-a.test'`);
      return r.rows[0]!;
    });
    expect(row.tenant_id).toBe(ids.a);
  });

  it('the binding ends with the transaction: the next transaction on the connection is unbound', async () => {
    // PGlite has one connection and a pool reuses its connections: run a tenant transaction, then look unbound.
    for (let i = 0; i < 3; i++) {
      await withTenantTx(db, ids.a, (tx) => tx.query('SELECT 1 FROM users LIMIT 1'));
      const seen = await withPlatformTx(db, async (tx) => {
        await tx.exec('SET LOCAL ROLE gatehouse_app');
        const setting = (await tx.query<{ v: string | null }>(`SELECT current_setting('app.tenant_id', true) AS v`)).rows[0]!.v;
        const n = (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]!.n;
        return { setting: setting ?? '', n };
      });
      expect(seen).toEqual({ setting: '', n: 0 });
    }
  });

  it('withTenantTx refuses a tenant id that is not a UUID (it is inlined into SQL)', async () => {
    expect(() => withTenantTx(db, "x'); SELECT 1; --", async () => 1)).toThrow(TypeError);
  });
});
