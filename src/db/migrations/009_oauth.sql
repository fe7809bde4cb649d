-- OAuth 2.1 / OpenID Connect provider: each tenant is its own issuer. Clients, their authorization codes and the
-- users' consent decisions are tenant-owned. Tokens stay in the one sessions / refresh_tokens model: an OAuth grant
-- is a session row carrying the client it was issued to, and the browser's sign-in at the hosted pages is a session
-- row found through the SHA-256 of its cookie.

CREATE TABLE oauth_clients (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  client_id text NOT NULL,
  name text NOT NULL,
  type text NOT NULL CHECK (type IN ('public', 'confidential', 'service')),
  token_endpoint_auth_method text NOT NULL
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
  redirect_uris text[] NOT NULL DEFAULT '{}',
  post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
  grant_types text[] NOT NULL,
  scopes text[] NOT NULL,
  first_party boolean NOT NULL DEFAULT false,
  -- Lifetimes in seconds; NULL = the tenant's setting (access, refresh) or one hour (ID token).
  access_token_ttl integer,
  refresh_token_ttl integer,
  id_token_ttl integer,
  -- private_key_jwt: the client's public keys (a JWK Set).
  jwks jsonb,
  -- SHA-256 (base64url) of the current secret, and of the previous one while a rotation's overlap lasts.
  secret_hash text,
  previous_secret_hash text,
  previous_secret_expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, client_id),
  UNIQUE (tenant_id, id)
);

-- Authorization codes: single use, short-lived, stored as SHA-256. `issued_session_id` is the grant session the
-- exchange opened, revoked if the code is presented again.
CREATE TABLE oauth_codes (
  code_hash text NOT NULL,
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  client_id text NOT NULL,
  user_id uuid NOT NULL,
  session_id uuid NOT NULL,
  redirect_uri text NOT NULL,
  code_challenge text NOT NULL,
  scopes text[] NOT NULL,
  nonce text,
  auth_time timestamptz NOT NULL,
  amr text[] NOT NULL,
  acr text NOT NULL,
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz,
  issued_session_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, code_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_codes_expiry_idx ON oauth_codes (expires_at);

-- Consent remembered per user and client: the scopes the user agreed to.
CREATE TABLE oauth_grants (
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  user_id uuid NOT NULL,
  client_id text NOT NULL,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id, client_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- The one session model, extended: a grant session names its client, its scopes, the browser session it came from
-- (the ID token's sid) and when the user authenticated; a browser session is found by its cookie's digest.
ALTER TABLE sessions
  ADD COLUMN client_id text,
  ADD COLUMN scopes text[],
  ADD COLUMN parent_session_id uuid,
  ADD COLUMN auth_time timestamptz,
  ADD COLUMN cookie_hash text;
CREATE UNIQUE INDEX sessions_cookie_idx ON sessions (tenant_id, cookie_hash) WHERE cookie_hash IS NOT NULL;
CREATE INDEX sessions_parent_idx ON sessions (tenant_id, parent_session_id) WHERE parent_session_id IS NOT NULL;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['oauth_clients', 'oauth_codes', 'oauth_grants'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
      'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_clients, oauth_codes, oauth_grants TO gatehouse_app;

-- Spent and expired codes are deleted across tenants by the clean-up job, as the owner role (FORCE applies RLS to
-- the owner too): DELETE only, never to the app role.
CREATE POLICY platform_cleanup ON oauth_codes FOR DELETE TO CURRENT_USER USING (true);
