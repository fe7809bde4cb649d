-- The two hottest reads as functions, so their plans are cached per connection (PL/pgSQL prepares its statements
-- once). On the embedded database planning dominated them: the user read behind every refresh cost about 0.27 ms of
-- CPU as a plain statement, more than the rotation itself when rotations are grouped (batch-group.ts).
--
-- Both keep the column list of USER_COLUMNS (src/identity/user.queries.ts) in its order; a test compares them.

-- GET /me and every other authenticated read of the caller.
CREATE FUNCTION gatehouse_read_user(p_id uuid)
RETURNS TABLE (
  id uuid, tenant_id uuid, email text, email_verified boolean, password_hash text, name text, given_name text,
  family_name text, locale text, timezone text, status text, role text, last_login_at timestamptz, login_count integer,
  created_by uuid, created_at timestamptz, updated_at timestamptz, locked_until timestamptz
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  SELECT u.id, u.tenant_id, u.email, u.email_verified, u.password_hash, u.name, u.given_name, u.family_name, u.locale,
    u.timezone, u.status, u.role, u.last_login_at, u.login_count, u.created_by, u.created_at, u.updated_at, u.locked_until
  FROM users u WHERE u.id = p_id;
END $$;

GRANT EXECUTE ON FUNCTION gatehouse_read_user TO gatehouse_app;

-- gatehouse_rotate_refresh (migration 013) now also answers the user the new access token is for, read once under
-- the same check that sent disabled users the general way: one statement per rotation instead of two.
DROP FUNCTION gatehouse_rotate_refresh(text, text, text, int, int, text, text, text);

CREATE FUNCTION gatehouse_rotate_refresh(
  p_hash text, p_client text, p_new_hash text, p_idle_ttl int, p_refresh_ttl int,
  p_ip text, p_user_agent text, p_request_id text
) RETURNS TABLE (kind text, session_id uuid, user_id uuid, amr text[], aal smallint, scopes text[],
  parent_session_id uuid, auth_time timestamptz,
  u_id uuid, u_tenant_id uuid, u_email text, u_email_verified boolean, u_password_hash text, u_name text,
  u_given_name text, u_family_name text, u_locale text, u_timezone text, u_status text, u_role text,
  u_last_login_at timestamptz, u_login_count integer, u_created_by uuid, u_created_at timestamptz,
  u_updated_at timestamptz, u_locked_until timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  t record;
  s record;
  usr record;
BEGIN
  -- Locked, so two uses of one token serialise: the second sees 'rotated' and goes the general way.
  SELECT r.id, r.session_id, r.family_id, r.status, r.expires_at <= now() AS expired INTO t
  FROM refresh_tokens r WHERE r.token_hash = p_hash FOR UPDATE;
  IF NOT FOUND OR t.status = 'revoked' OR t.expired THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::text[], NULL::smallint, NULL::text[], NULL::uuid, NULL::timestamptz,
      NULL::uuid, NULL::uuid, NULL::text, NULL::boolean, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
      NULL::text, NULL::text, NULL::timestamptz, NULL::integer, NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;

  SELECT x.id, x.user_id, x.client_id, x.amr, x.aal, x.scopes, x.parent_session_id, x.auth_time, x.absolute_expires_at,
    (x.revoked_at IS NULL AND x.idle_expires_at > now() AND x.absolute_expires_at > now()) AS live
  INTO s FROM sessions x WHERE x.id = t.session_id FOR UPDATE;
  -- A token of another client (or an OAuth client's token at the first-party API) is unknown here; it is not burnt.
  IF NOT FOUND OR NOT s.live OR s.client_id IS DISTINCT FROM p_client THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::text[], NULL::smallint, NULL::text[], NULL::uuid, NULL::timestamptz,
      NULL::uuid, NULL::uuid, NULL::text, NULL::boolean, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
      NULL::text, NULL::text, NULL::timestamptz, NULL::integer, NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;

  -- A lockout stops password sign-in, not the sessions the owner already has; a disabled user's are revoked on the
  -- general path.
  SELECT * INTO usr FROM users x WHERE x.id = s.user_id;
  IF t.status <> 'active' OR NOT FOUND OR usr.status = 'disabled' THEN
    RETURN QUERY SELECT 'slow'::text, NULL::uuid, NULL::uuid, NULL::text[], NULL::smallint, NULL::text[], NULL::uuid, NULL::timestamptz,
      NULL::uuid, NULL::uuid, NULL::text, NULL::boolean, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
      NULL::text, NULL::text, NULL::timestamptz, NULL::integer, NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz;
    RETURN;
  END IF;

  UPDATE refresh_tokens SET status = 'rotated', rotated_at = now() WHERE id = t.id;
  UPDATE sessions SET last_active_at = now(), idle_expires_at = least(now() + make_interval(secs => p_idle_ttl), absolute_expires_at)
  WHERE id = s.id;
  INSERT INTO refresh_tokens (session_id, family_id, parent_id, token_hash, expires_at)
  VALUES (s.id, t.family_id, t.id, p_new_hash, least(now() + make_interval(secs => p_refresh_ttl), s.absolute_expires_at));
  INSERT INTO audit_events (actor_type, actor_id, subject_id, action, ip, user_agent, request_id, details)
  VALUES ('user', s.user_id, s.user_id, 'token.refreshed', p_ip, p_user_agent, p_request_id,
    CASE WHEN p_client IS NULL THEN jsonb_build_object('session_id', s.id)
      ELSE jsonb_build_object('session_id', s.id, 'client_id', p_client) END);

  RETURN QUERY SELECT 'rotated'::text, s.id, s.user_id, s.amr, s.aal, s.scopes, s.parent_session_id, s.auth_time,
    usr.id, usr.tenant_id, usr.email, usr.email_verified, usr.password_hash, usr.name, usr.given_name, usr.family_name,
    usr.locale, usr.timezone, usr.status, usr.role, usr.last_login_at, usr.login_count, usr.created_by, usr.created_at,
    usr.updated_at, usr.locked_until;
END $$;

-- SECURITY INVOKER (the default): it runs as the app role, under row-level security, inside the tenant's transaction.
GRANT EXECUTE ON FUNCTION gatehouse_rotate_refresh TO gatehouse_app;
