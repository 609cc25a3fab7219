-- Access requests (pkg/directory/requests.go): a member asks for access they
-- lack, with a reason; a person who manages users approves or refuses it.
-- Whether a request still stands is decided in SpiceDB (its pending marker,
-- which expires with it); this row is its text and its history.
-- 0006 is reserved for the personal access tokens.
-- Every statement is idempotent: see 0001_schema_version.sql.
CREATE TABLE IF NOT EXISTS hostaccess.access_requests (
    id         STRING      PRIMARY KEY,
    account_id STRING      NOT NULL,
    user_id    STRING      NOT NULL,
    requested  JSONB,
    reason     STRING      NOT NULL,
    status     STRING      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    decided_by STRING      NOT NULL DEFAULT '',
    decided_at TIMESTAMPTZ,              -- NULL while pending
    note       STRING      NOT NULL DEFAULT ''
);

CREATE INDEX IF NOT EXISTS access_requests_account_idx
    ON hostaccess.access_requests (account_id, created_at, id);
CREATE INDEX IF NOT EXISTS access_requests_user_idx
    ON hostaccess.access_requests (account_id, user_id, created_at, id);
