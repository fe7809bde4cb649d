-- OpenID Connect Back-Channel Logout 1.0: a client may register a backchannel_logout_uri; when a session it holds a
-- grant on ends, a Logout Token is POSTed there. The outbox pattern of mail and alert webhooks: the row is written
-- in the transaction that revokes the session, a worker (src/oauth/backchannel/backchannel-worker.ts) signs and
-- delivers it. The token itself is signed at each attempt and never stored.
ALTER TABLE oauth_clients
  ADD COLUMN backchannel_logout_uri text,
  ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT true;

CREATE TABLE backchannel_logouts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  client_id text NOT NULL,
  -- The token's sub and sid (the sid the client's ID tokens carried). No foreign keys: a deleted user's or an
  -- expired session's logout is still owed.
  user_id uuid NOT NULL,
  sid uuid NOT NULL,
  reason text NOT NULL,
  -- pending: waiting for (another) attempt; delivered: the client answered 200/204; failed: given up.
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  -- A deleted client is owed nothing.
  FOREIGN KEY (tenant_id, client_id) REFERENCES oauth_clients (tenant_id, client_id) ON DELETE CASCADE
);
CREATE INDEX backchannel_logouts_due_idx ON backchannel_logouts (next_attempt_at) WHERE status = 'pending';
-- One pending logout per client and session: a second revocation of the same sid adds nothing.
CREATE UNIQUE INDEX backchannel_logouts_pending_idx ON backchannel_logouts (tenant_id, client_id, sid) WHERE status = 'pending';

ALTER TABLE backchannel_logouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE backchannel_logouts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON backchannel_logouts
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON backchannel_logouts TO gatehouse_app;

-- The worker claims due logouts across tenants, and removes old finished ones, as the migrating/owner role (as the
-- mail and webhook workers do); never the app role.
CREATE POLICY platform_backchannel_read ON backchannel_logouts FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY platform_backchannel_update ON backchannel_logouts FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY platform_backchannel_cleanup ON backchannel_logouts FOR DELETE TO CURRENT_USER USING (true);
