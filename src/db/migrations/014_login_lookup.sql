-- The password login's lookup as one function, for the reason gatehouse_commit_login is one (migration 005): PL/pgSQL
-- keeps its statements' plans for the life of the connection, and planning this read (the user, the risk history,
-- the MFA state) was most of its cost on the embedded database (measured: 0.85 ms of CPU per lookup as a statement,
-- 0.37 ms as a prepared one). No row for an unknown address. SECURITY INVOKER: the app role, under RLS.
CREATE FUNCTION gatehouse_login_lookup(p_email text)
RETURNS TABLE (
  id uuid, tenant_id uuid, email text, email_verified boolean, password_hash text, name text, given_name text,
  family_name text, locale text, timezone text, status text, role text, last_login_at timestamptz, login_count integer,
  created_by uuid, created_at timestamptz, updated_at timestamptz, locked_until timestamptz,
  login_signals json, mfa_factors text[], mfa_backup_codes boolean, mfa_grace_started_at timestamptz
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  SELECT u.id, u.tenant_id, u.email, u.email_verified, u.password_hash, u.name, u.given_name, u.family_name, u.locale,
    u.timezone, u.status, u.role, u.last_login_at, u.login_count, u.created_by, u.created_at, u.updated_at, u.locked_until,
    (SELECT coalesce(json_agg(json_build_object('kind', s.kind, 'value', s.value, 'seen_count', s.seen_count, 'last_seen', s.last_seen)), '[]')
     FROM login_signals s WHERE s.user_id = u.id),
    -- The factors as mfa-state.ts's activeFactorTypesSql counts them: active authenticator apps and passkeys.
    array(SELECT f.type FROM mfa_factors f WHERE f.user_id = u.id AND f.status = 'active'
          UNION SELECT 'webauthn' FROM webauthn_credentials w WHERE w.user_id = u.id),
    EXISTS (SELECT 1 FROM mfa_backup_codes b WHERE b.user_id = u.id AND b.used_at IS NULL),
    u.mfa_grace_started_at
  FROM users u WHERE u.email = p_email;
END $$;

GRANT EXECUTE ON FUNCTION gatehouse_login_lookup TO gatehouse_app;
