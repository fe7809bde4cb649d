-- The common case of a refresh-token rotation (an active token of a live session whose user may still sign in) in
-- one call, for the first-party API and the OAuth refresh grant alike. As separate statements it was eleven round
-- trips; on the embedded database each costs a fixed slice of main-thread time, and that, not the crypto, bounded
-- refresh throughput (measured: about 6 ms of CPU per OAuth rotation, most of it in PGlite's protocol handling).
--
-- Returns 'invalid' (unknown, revoked or expired token; session over, revoked or of another client) and 'slow' (the
-- token was already rotated: grace window or reuse detection; the user is gone or disabled: revocation) without
-- changing anything; the caller then answers invalid, or runs the general path (session.queries.ts), which handles
-- those cases with their audit events and alerts. 'rotated' means it is done: old token rotated, session touched,
-- the new token (whose hash the caller chose) inserted, and the `token.refreshed` audit event written.
CREATE OR REPLACE FUNCTION gatehouse_rotate_refresh(
  p_hash text, p_client text, p_new_hash text, p_idle_ttl int, p_refresh_ttl int,
  p_ip text, p_user_agent text, p_request_id text
) RETURNS TABLE (kind text, session_id uuid, user_id uuid, amr text[], aal smallint, scopes text[],
  parent_session_id uuid, auth_time timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  t record;
  s record;
BEGIN
  -- Locked, so two uses of one token serialise: the second sees 'rotated' and goes the general way.
  SELECT r.id, r.session_id, r.family_id, r.status, r.expires_at <= now() AS expired INTO t
  FROM refresh_tokens r WHERE r.token_hash = p_hash FOR UPDATE;
  IF NOT FOUND OR t.status = 'revoked' OR t.expired THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::text[], NULL::smallint, NULL::text[], NULL::uuid, NULL::timestamptz;
    RETURN;
  END IF;

  SELECT x.id, x.user_id, x.client_id, x.amr, x.aal, x.scopes, x.parent_session_id, x.auth_time, x.absolute_expires_at,
    (x.revoked_at IS NULL AND x.idle_expires_at > now() AND x.absolute_expires_at > now()) AS live
  INTO s FROM sessions x WHERE x.id = t.session_id FOR UPDATE;
  -- A token of another client (or an OAuth client's token at the first-party API) is unknown here; it is not burnt.
  IF NOT FOUND OR NOT s.live OR s.client_id IS DISTINCT FROM p_client THEN
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::uuid, NULL::text[], NULL::smallint, NULL::text[], NULL::uuid, NULL::timestamptz;
    RETURN;
  END IF;

  -- A lockout stops password sign-in, not the sessions the owner already has; a disabled user's are revoked there.
  IF t.status <> 'active' OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id AND u.status <> 'disabled') THEN
    RETURN QUERY SELECT 'slow'::text, NULL::uuid, NULL::uuid, NULL::text[], NULL::smallint, NULL::text[], NULL::uuid, NULL::timestamptz;
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

  RETURN QUERY SELECT 'rotated'::text, s.id, s.user_id, s.amr, s.aal, s.scopes, s.parent_session_id, s.auth_time;
END $$;

-- SECURITY INVOKER (the default): it runs as the app role, under row-level security, inside the tenant's transaction.
GRANT EXECUTE ON FUNCTION gatehouse_rotate_refresh TO gatehouse_app;
