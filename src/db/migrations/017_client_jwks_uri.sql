-- private_key_jwt clients may publish their keys at a URL instead of registering them inline (OIDC Dynamic Client
-- Registration's jwks_uri; RFC 7523 client authentication), so they rotate keys without an admin. One or the other.
ALTER TABLE oauth_clients ADD COLUMN jwks_uri text;
ALTER TABLE oauth_clients ADD CONSTRAINT oauth_clients_one_key_source CHECK (jwks IS NULL OR jwks_uri IS NULL);
