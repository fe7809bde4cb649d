-- Multi-factor authentication (issue 6): TOTP factors, backup codes, the session's last aal2 authentication and
-- the per-user start of an MFA-policy grace period. Passkeys (WebAuthn) keep their own table.

-- One row per authenticator. A TOTP secret is sealed with the master key, bound to tenant and user
-- (context `totp:{tenant}:{user}`), and never leaves the server after enrollment. A pending row (status 'pending')
-- becomes active on the first correct code, or is dropped once `expires_at` has passed.
CREATE TABLE mfa_factors (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid,
  user_id uuid NOT NULL,
  type text NOT NULL CHECK (type IN ('totp')),
  status text NOT NULL CHECK (status IN ('pending', 'active')),
  name text,
  secret_enc text NOT NULL,
  -- The highest TOTP time step accepted so far: an equal or older step is a replay (RFC 6238 §5.2), whatever the
  -- key-value store remembers.
  last_used_step bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  activated_at timestamptz,
  last_used_at timestamptz,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- At most one active and one pending TOTP factor per user.
CREATE UNIQUE INDEX mfa_factors_one_totp_idx ON mfa_factors (tenant_id, user_id, type, status);

-- Backup codes: SHA-256 of the user id and an ~79-bit random code (see src/mfa/backup-codes.ts); each used once.
CREATE TABLE mfa_backup_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid,
  user_id uuid NOT NULL,
  code_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at timestamptz,
  UNIQUE (tenant_id, user_id, code_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['mfa_factors', 'mfa_backup_codes'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
      'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_factors TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_backup_codes TO gatehouse_app;

-- When the session last passed a second factor (login with MFA or step-up): sensitive operations need it recent.
ALTER TABLE sessions ADD COLUMN aal2_at timestamptz;

-- When a user subject to the tenant's MFA policy, without a factor, was first told to enroll: the grace period runs
-- from here. Cleared when an admin resets the user's MFA.
ALTER TABLE users ADD COLUMN mfa_grace_started_at timestamptz;

-- An admin's reset of a user's MFA is a security alert (account takeover often goes through the help desk).
ALTER TABLE security_alerts DROP CONSTRAINT security_alerts_type_check;
ALTER TABLE security_alerts ADD CONSTRAINT security_alerts_type_check
  CHECK (type IN ('multiple_failures', 'account_locked', 'refresh_token_reuse', 'suspicious_login', 'privilege_escalation', 'mfa_reset'));
