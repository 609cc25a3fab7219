-- Freshness tokens (pkg/freshness): per account, the ZedToken of the newest
-- relationship write known to have changed it. Checks ask SpiceDB for
-- answers at least that fresh, so a change is seen at once by every node and
-- after a restart, while unchanged accounts are answered from cache.
-- Every statement is idempotent: see 0001_schema_version.sql.
CREATE TABLE IF NOT EXISTS hostaccess.freshness (
    scope      STRING      PRIMARY KEY,  -- an account id
    zed_token  STRING      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
