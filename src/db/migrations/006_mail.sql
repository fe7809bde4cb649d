-- Email flows (issue 5): the mail outbox, one-time email tokens and invitations.

-- The mail outbox: a message is written in the transaction of the change that causes it and delivered by a worker
-- (src/mail/mail-worker.ts). The rendered bodies carry one-time links, so they are sealed with the master key
-- (context mail:{tenant}) and cleared once the message is sent.
CREATE TABLE mail_outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  to_address text NOT NULL,
  from_address text,
  template text NOT NULL,
  locale text NOT NULL,
  subject text NOT NULL,
  body_enc text,
  -- queued: waiting for (another) attempt; sent: accepted by the SMTP server; failed: given up;
  -- logged: no SMTP configured, printed to the log instead (development).
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'logged')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  message_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX mail_outbox_tenant_idx ON mail_outbox (tenant_id, created_at DESC, id DESC);

-- One-time tokens and codes sent by mail, stored as SHA-256 only, bound to the tenant (RLS) and to a purpose.
CREATE TABLE email_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  user_id uuid,
  email text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('password_reset', 'email_verification', 'passwordless_link', 'passwordless_code', 'email_change')),
  token_hash text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  attempts integer NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz,
  consumed_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, token_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX email_tokens_email_idx ON email_tokens (tenant_id, email, purpose) WHERE consumed_at IS NULL;

CREATE TABLE invitations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  email text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'manager', 'user', 'viewer')),
  token_hash text NOT NULL,
  invited_by uuid,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked')),
  expires_at timestamptz NOT NULL,
  accepted_user_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, token_hash)
);
CREATE INDEX invitations_tenant_idx ON invitations (tenant_id, created_at DESC, id DESC);
-- At most one pending invitation per address: a new one replaces (revokes) the old.
CREATE UNIQUE INDEX invitations_pending_email_idx ON invitations (tenant_id, email) WHERE status = 'pending';

-- A tenant's own SMTP server (set by the platform operator), its URL sealed with the master key (context smtp:{tenant}):
-- it holds the SMTP password.
CREATE TABLE tenant_smtp (
  tenant_id uuid PRIMARY KEY DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  smtp_url_enc text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['mail_outbox', 'email_tokens', 'invitations', 'tenant_smtp'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
      'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON mail_outbox TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON email_tokens TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON invitations TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_smtp TO gatehouse_app;

-- The mail worker claims due messages across tenants as the migrating/owner role, as the webhook worker does.
CREATE POLICY platform_mail_read ON mail_outbox FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY platform_mail_update ON mail_outbox FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true);
-- Retention clean-up (mail-worker.ts cleanupMail) runs as the owner role too: old mail and spent tokens only.
CREATE POLICY platform_mail_cleanup ON mail_outbox FOR DELETE TO CURRENT_USER USING (true);
CREATE POLICY platform_token_read ON email_tokens FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY platform_token_cleanup ON email_tokens FOR DELETE TO CURRENT_USER USING (true);
