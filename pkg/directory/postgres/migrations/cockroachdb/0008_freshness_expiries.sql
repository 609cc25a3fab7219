-- When time-bound relationships lapse (pkg/freshness): answers are pinned
-- to the snapshot of an account's last change, so a lapse, which writes
-- nothing, must move the account's snapshot at that time; a node started
-- after the grant was written reads it here.
-- Every statement is idempotent: see 0001_schema_version.sql.
CREATE TABLE IF NOT EXISTS hostaccess.freshness_expiries (
    scope     STRING      NOT NULL,  -- an account id, or '' for global
    lapses_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, lapses_at)
);

CREATE INDEX IF NOT EXISTS freshness_expiries_lapses_idx
    ON hostaccess.freshness_expiries (lapses_at);
