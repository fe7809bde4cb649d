-- Passkeys and security keys (WebAuthn). One row per registered credential; the public key is the COSE key the
-- authenticator returned at registration, kept base64url like every other binary field here.
CREATE TABLE webauthn_credentials (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  user_id uuid NOT NULL,
  -- The authenticator's credential id (base64url): what an assertion names.
  credential_id text NOT NULL CHECK (length(credential_id) BETWEEN 16 AND 1400),
  public_key text NOT NULL,
  -- The WebAuthn user handle given at registration (base64url), returned by discoverable credentials.
  user_handle text NOT NULL,
  -- The signature counter (uint32). 0 for authenticators that do not count (most synced passkeys).
  counter bigint NOT NULL DEFAULT 0 CHECK (counter >= 0 AND counter <= 4294967295),
  transports text[] NOT NULL DEFAULT '{}',
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  aaguid text NOT NULL,
  -- From the authenticator data's backup-eligible flag: multi_device = a synced passkey, single_device = bound to one authenticator.
  device_type text NOT NULL CHECK (device_type IN ('single_device', 'multi_device')),
  backed_up boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  UNIQUE (tenant_id, credential_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (tenant_id, user_id, created_at);

ALTER TABLE webauthn_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE webauthn_credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webauthn_credentials
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON webauthn_credentials TO gatehouse_app;

-- A new security alert type: a passkey's signature counter did not increase (a cloned authenticator). The type
-- check is extended in place rather than restated, so other migrations that add types compose with this one.
DO $$
DECLARE def text;
BEGIN
  SELECT pg_get_constraintdef(c.oid) INTO def
  FROM pg_constraint c
  WHERE c.conrelid = 'security_alerts'::regclass AND c.conname = 'security_alerts_type_check';
  IF def IS NULL THEN
    RAISE EXCEPTION 'security_alerts_type_check not found';
  END IF;
  IF position('passkey_clone_warning' IN def) = 0 THEN
    EXECUTE 'ALTER TABLE security_alerts DROP CONSTRAINT security_alerts_type_check';
    EXECUTE 'ALTER TABLE security_alerts ADD CONSTRAINT security_alerts_type_check '
      || replace(def, 'ARRAY[', 'ARRAY[''passkey_clone_warning''::text, ');
  END IF;
END $$;
