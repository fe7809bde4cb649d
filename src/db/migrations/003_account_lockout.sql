-- Account lockout: a locked account refuses password sign-in until locked_until (admins can unlock earlier).
ALTER TABLE users ADD COLUMN locked_until timestamptz;

-- A successful sign-in after the lock expired also clears it.
CREATE OR REPLACE FUNCTION gatehouse_clear_expired_lock(p_user uuid) RETURNS void LANGUAGE sql AS $$
  UPDATE users SET status = 'active', locked_until = NULL
  WHERE id = p_user AND status = 'locked' AND locked_until <= now();
$$;
GRANT EXECUTE ON FUNCTION gatehouse_clear_expired_lock TO gatehouse_app;
