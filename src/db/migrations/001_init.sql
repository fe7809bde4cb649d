-- Gatehouse schema. Every tenant-owned table carries tenant_id, has row-level security enabled AND forced, and
-- is reachable by the app role only through the tenant_isolation policy keyed on the transaction's app.tenant_id.

DO $$
BEGIN
  CREATE ROLE gatehouse_app NOLOGIN NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT gatehouse_app TO %I', current_user);
  END IF;
END $$;

CREATE TABLE tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE,
  name text NOT NULL,
  plan text NOT NULL DEFAULT 'basic' CHECK (plan IN ('basic', 'pro', 'enterprise')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'canceled')),
  limits jsonb NOT NULL DEFAULT '{}',
  features jsonb NOT NULL DEFAULT '{}',
  branding jsonb NOT NULL DEFAULT '{}',
  settings jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE platform_credentials (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('bootstrap', 'local', 'api')),
  secret_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  email text NOT NULL,
  email_verified boolean NOT NULL DEFAULT false,
  password_hash text,
  name text,
  given_name text,
  family_name text,
  locale text,
  timezone text,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'locked')),
  role text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'manager', 'user', 'viewer')),
  last_login_at timestamptz,
  login_count integer NOT NULL DEFAULT 0,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, email),
  UNIQUE (tenant_id, id)
);
CREATE INDEX users_tenant_created_idx ON users (tenant_id, created_at, id);

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid,
  user_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_active_at timestamptz NOT NULL DEFAULT now(),
  idle_expires_at timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  ip text,
  user_agent text,
  amr text[] NOT NULL DEFAULT '{pwd}',
  aal smallint NOT NULL DEFAULT 1,
  revoked_at timestamptz,
  revoked_reason text,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_active_idx ON sessions (tenant_id, user_id, created_at) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expiry_idx ON sessions (absolute_expires_at);

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid,
  session_id uuid NOT NULL,
  family_id uuid NOT NULL,
  parent_id uuid,
  token_hash text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'rotated', 'revoked')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz,
  UNIQUE (tenant_id, token_hash),
  FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (tenant_id, session_id);

CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  alg text NOT NULL CHECK (alg IN ('ES256', 'RS256')),
  public_jwk jsonb NOT NULL,
  private_key_enc text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  -- After this instant no token signed with the key can still be valid: it leaves the JWKS.
  expires_at timestamptz
);
CREATE INDEX signing_keys_tenant_idx ON signing_keys (tenant_id, status);

CREATE TABLE audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'platform', 'system', 'anonymous')),
  actor_id uuid,
  subject_id uuid,
  action text NOT NULL,
  ip text,
  user_agent text,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}',
  risk text NOT NULL DEFAULT 'low' CHECK (risk IN ('low', 'medium', 'high', 'critical')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_tenant_idx ON audit_events (tenant_id, id DESC);
CREATE INDEX audit_events_action_idx ON audit_events (tenant_id, action, id DESC);
CREATE INDEX audit_events_subject_idx ON audit_events (tenant_id, subject_id, id DESC);

-- Row-level security: enabled and forced on every tenant-owned table.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'sessions', 'refresh_tokens', 'signing_keys', 'audit_events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
      'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
  END LOOP;
END $$;

GRANT SELECT ON tenants TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, refresh_tokens, signing_keys TO gatehouse_app;
-- The audit trail is append-only for the application.
GRANT SELECT, INSERT ON audit_events TO gatehouse_app;

-- Maintenance that spans tenants (expiry clean-up) runs as the migrating/owner role. FORCE applies RLS to the
-- owner too, so it gets its own policies: DELETE only, never to the app role.
CREATE POLICY platform_cleanup ON sessions FOR DELETE TO CURRENT_USER USING (true);
CREATE POLICY platform_cleanup ON refresh_tokens FOR DELETE TO CURRENT_USER USING (true);
