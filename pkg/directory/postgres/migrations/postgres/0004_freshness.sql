-- Freshness tokens (pkg/freshness): per account, the ZedToken of the newest
-- relationship write known to have changed it. Checks ask SpiceDB for
-- answers at least that fresh, so a change is seen at once by every node and
-- after a restart, while unchanged accounts are answered from cache.
CREATE TABLE IF NOT EXISTS hostaccess.freshness (
    scope      text        PRIMARY KEY,  -- an account id
    zed_token  text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
