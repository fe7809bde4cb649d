import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/database.ts';
import { migrate } from '../../../src/db/migrate.ts';
import { withPlatformTx, withTenantTx } from '../../../src/db/tenant-tx.ts';
import { ALERT_TYPES, raiseAlert } from '../../../src/security/alerts.ts';
import { backendName, openTestDatabase } from '../../helpers/test-app.ts';

const MIGRATION = readFileSync(new URL('../../../src/db/migrations/008_webauthn.sql', import.meta.url), 'utf8');
/** The part of 008 that extends the alert type check. */
const EXTEND_ALERT_TYPES = MIGRATION.slice(MIGRATION.indexOf('DO $$'));

/** Migration 008 adds the passkey_clone_warning alert type by extending the check in place. */
describe(`migration 008: the passkey_clone_warning alert type (${backendName})`, () => {
  let db: Database;
  let close: () => Promise<void>;
  let tenantId: string;

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase());
    await migrate(db);
    tenantId = (await withPlatformTx(db, (tx) => tx.query<{ id: string }>(`INSERT INTO tenants (slug, name) VALUES ('mig', 'mig') RETURNING id`))).rows[0]!.id;
  });
  afterAll(() => close());

  const definition = async () =>
    (await db.query<{ def: string }>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'security_alerts_type_check'`)).rows[0]!.def;

  it('every alert type the code knows is accepted, and only those', async () => {
    for (const type of ALERT_TYPES) await withTenantTx(db, tenantId, (tx) => raiseAlert(tx, { type }));
    await expect(withTenantTx(db, tenantId, (tx) => raiseAlert(tx, { type: 'not_a_type' as never, severity: 'low' }))).rejects.toThrow(/security_alerts_type_check/);
  });

  it('keeps types another migration added, and running it again changes nothing', async () => {
    // As if another migration had restated the list with a type of its own and without passkey_clone_warning.
    await db.exec(`ALTER TABLE security_alerts DROP CONSTRAINT security_alerts_type_check;
      DELETE FROM security_alerts WHERE type = 'passkey_clone_warning';
      ALTER TABLE security_alerts ADD CONSTRAINT security_alerts_type_check CHECK (type IN ('multiple_failures', 'account_locked',
        'refresh_token_reuse', 'suspicious_login', 'privilege_escalation', 'mfa_reset'))`);
    await db.exec(EXTEND_ALERT_TYPES);
    const def = await definition();
    for (const type of [...ALERT_TYPES, 'mfa_reset']) expect(def).toContain(`'${type}'`);
    await db.exec(EXTEND_ALERT_TYPES);
    expect(await definition()).toBe(def);
  });
});
