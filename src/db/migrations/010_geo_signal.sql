-- Impossible travel (issue 4): a sign-in's approximate place (0.1 degree, about 10 km) joins the risk signals when a
-- GeoIP database is configured; last_seen of the newest 'geo' row is where and when the user last signed in.
ALTER TABLE login_signals DROP CONSTRAINT login_signals_kind_check;
ALTER TABLE login_signals ADD CONSTRAINT login_signals_kind_check CHECK (kind IN ('device', 'network', 'hour', 'geo'));
