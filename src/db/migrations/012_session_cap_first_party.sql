-- The per-user session cap counts the user's own sign-ins (first-party API and hosted-page browser sessions) only.
-- OAuth grants are sessions too (migration 009, client_id set), but a browser sign-in must not evict the grant an
-- application holds (its refresh token would die for no reason the user can see); grants end by expiry, revocation,
-- logout or client deletion. Same function as migration 005 otherwise.
CREATE OR REPLACE FUNCTION gatehouse_commit_login(
  p_user uuid, p_new_hash text, p_session uuid, p_ip text, p_user_agent text, p_amr text[], p_aal smallint,
  p_idle_ttl int, p_absolute_ttl int, p_max_sessions int, p_refresh_hash text, p_refresh_ttl int,
  p_request_id text, p_method text, p_details jsonb, p_device text, p_network text, p_hour text
) RETURNS TABLE (out_session uuid, out_created_at timestamptz, out_absolute_expires_at timestamptz, evicted uuid[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_evicted uuid[];
  v_created timestamptz;
  v_absolute timestamptz;
BEGIN
  -- Serialise this user's logins: the eviction below must see every other new session.
  PERFORM 1 FROM users WHERE id = p_user FOR NO KEY UPDATE;
  -- The stamp; a lock that has run out ends with this successful sign-in.
  UPDATE users SET last_login_at = now(), login_count = login_count + 1, password_hash = coalesce(p_new_hash, password_hash),
    status = CASE WHEN status = 'locked' AND locked_until <= now() THEN 'active' ELSE status END,
    locked_until = CASE WHEN status = 'locked' AND locked_until <= now() THEN NULL ELSE locked_until END
  WHERE id = p_user;

  INSERT INTO login_signals (user_id, kind, value)
  VALUES (p_user, 'device', p_device), (p_user, 'network', p_network), (p_user, 'hour', p_hour)
  ON CONFLICT (tenant_id, user_id, kind, value) DO UPDATE SET seen_count = login_signals.seen_count + 1, last_seen = now();

  WITH ev AS (
    UPDATE sessions SET revoked_at = now(), revoked_reason = 'evicted'
    -- By primary key from an array, whatever the statistics say: as an IN (subquery) the planner may hash-join
    -- every session of the tenant when its estimates are stale (measured: commit 0.8 ms -> 2.4 ms).
    WHERE id = ANY (ARRAY(
      SELECT s.id FROM sessions s WHERE s.user_id = p_user AND s.client_id IS NULL AND s.revoked_at IS NULL
        AND s.absolute_expires_at > now()
      ORDER BY s.created_at DESC, s.id OFFSET greatest(p_max_sessions - 1, 0)))
    RETURNING id)
  SELECT coalesce(array_agg(ev.id), '{}') INTO v_evicted FROM ev;
  IF cardinality(v_evicted) > 0 THEN
    UPDATE refresh_tokens SET status = 'revoked' WHERE session_id = ANY (v_evicted) AND status = 'active';
    INSERT INTO audit_events (actor_type, actor_id, subject_id, action, ip, user_agent, request_id, details)
    SELECT 'system', NULL, p_user, 'session.evicted', p_ip, p_user_agent, p_request_id, jsonb_build_object('session_id', e)
    FROM unnest(v_evicted) AS e;
  END IF;

  INSERT INTO sessions (id, user_id, ip, user_agent, amr, aal, idle_expires_at, absolute_expires_at)
  VALUES (p_session, p_user, p_ip, p_user_agent, p_amr, p_aal,
    now() + make_interval(secs => least(p_idle_ttl, p_absolute_ttl)), now() + make_interval(secs => p_absolute_ttl))
  RETURNING sessions.created_at, sessions.absolute_expires_at INTO v_created, v_absolute;

  INSERT INTO refresh_tokens (session_id, family_id, token_hash, expires_at)
  VALUES (p_session, p_session, p_refresh_hash, least(now() + make_interval(secs => p_refresh_ttl), v_absolute));

  INSERT INTO audit_events (actor_type, actor_id, subject_id, action, ip, user_agent, request_id, details)
  VALUES ('user', p_user, p_user, 'login.succeeded', p_ip, p_user_agent, p_request_id,
    jsonb_build_object('method', p_method, 'session_id', p_session) || coalesce(p_details, '{}'::jsonb));
  IF p_new_hash IS NOT NULL THEN
    INSERT INTO audit_events (actor_type, actor_id, subject_id, action, ip, user_agent, request_id)
    VALUES ('user', p_user, p_user, 'password.rehashed', p_ip, p_user_agent, p_request_id);
  END IF;

  RETURN QUERY SELECT p_session, v_created, v_absolute, v_evicted;
END $$;

