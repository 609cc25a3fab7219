-- Personal access tokens (docs/tokens.md). What a token may do lives in
-- SpiceDB; this is its record: who made it, what it was given, when it ends,
-- and the SHA-256 of its secret (the secret itself is never stored).
CREATE TABLE IF NOT EXISTS hostaccess.tokens (
    id            text COLLATE "C" PRIMARY KEY,
    account_id    text COLLATE "C" NOT NULL,
    user_id       text COLLATE "C" NOT NULL,
    name          text             NOT NULL,
    secret_hash   bytea            NOT NULL,
    access        jsonb,
    allowed_cidrs text[]           NOT NULL DEFAULT '{}',
    created_at    timestamptz      NOT NULL,
    expires_at    timestamptz      NOT NULL,
    status        text             NOT NULL,
    status_at     timestamptz,                -- NULL until revoked
    status_by     text             NOT NULL DEFAULT '',
    CONSTRAINT tokens_secret_hash_key UNIQUE (secret_hash)
);

-- ListTokens: one account's, oldest first.
CREATE INDEX IF NOT EXISTS tokens_account_idx
    ON hostaccess.tokens (account_id, created_at, id);
