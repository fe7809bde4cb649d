-- Security alerts (account protection) and their webhook delivery: the outbox pattern. An alert and its pending
-- delivery are written in the transaction of the change that raised them; a background worker sends them.
CREATE TABLE security_alerts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  type text NOT NULL CHECK (type IN ('multiple_failures', 'account_locked', 'refresh_token_reuse', 'suspicious_login', 'privilege_escalation')),
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
  user_id uuid,
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  acknowledged_by uuid,
  acknowledged_at timestamptz,
  resolved_by uuid,
  resolved_at timestamptz,
  UNIQUE (tenant_id, id)
);
CREATE INDEX security_alerts_tenant_idx ON security_alerts (tenant_id, created_at DESC, id DESC);

-- One alert webhook per tenant; its signing secret is sealed with the master key (context webhook:{tenant}).
CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL UNIQUE DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  url text NOT NULL,
  secret_enc text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL DEFAULT nullif(current_setting('app.tenant_id', true), '')::uuid REFERENCES tenants (id),
  alert_id uuid NOT NULL,
  url text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  FOREIGN KEY (tenant_id, alert_id) REFERENCES security_alerts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_tenant_idx ON webhook_deliveries (tenant_id, created_at DESC, id DESC);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['security_alerts', 'webhook_endpoints', 'webhook_deliveries'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
      'WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
  END LOOP;
END $$;

-- Alerts are triaged (status changes), never deleted by the application.
GRANT SELECT, INSERT, UPDATE ON security_alerts TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO gatehouse_app;

-- The delivery worker finds and claims due deliveries across tenants as the migrating/owner role (FORCE applies
-- RLS to the owner too): SELECT and UPDATE only, never to the app role.
CREATE POLICY platform_delivery_read ON webhook_deliveries FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY platform_delivery_update ON webhook_deliveries FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true);
