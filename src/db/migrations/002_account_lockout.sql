-- Account lockout: a locked account refuses password sign-in until locked_until (admins can unlock earlier; the
-- sign-in commit clears a lock that has run out).
ALTER TABLE users ADD COLUMN locked_until timestamptz;
