-- Access requests (pkg/directory/requests.go): a member asks for access they
-- lack, with a reason; a person who manages users approves or refuses it.
-- Whether a request still stands is decided in SpiceDB (its pending marker,
-- which expires with it); this row is its text and its history.
-- 0006 is reserved for the personal access tokens.
CREATE TABLE IF NOT EXISTS hostaccess.access_requests (
    id         text COLLATE "C" PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    requested  jsonb,
    reason     text             NOT NULL,
    status     text             NOT NULL,
    created_at timestamptz      NOT NULL,
    expires_at timestamptz      NOT NULL,
    decided_by text             NOT NULL DEFAULT '',
    decided_at timestamptz,                -- NULL while pending
    note       text             NOT NULL DEFAULT ''
);

-- ListAccessRequests: one account's (or one requester's on it), oldest first.
CREATE INDEX IF NOT EXISTS access_requests_account_idx
    ON hostaccess.access_requests (account_id, created_at, id);
CREATE INDEX IF NOT EXISTS access_requests_user_idx
    ON hostaccess.access_requests (account_id, user_id, created_at, id);
