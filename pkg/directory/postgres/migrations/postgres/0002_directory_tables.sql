-- The directory: accounts, people, invitations, contacts and the audit log.
--
-- Identifiers and contact names are COLLATE "C" so that ORDER BY sorts them
-- by bytes, as Go's strings.Compare does, whatever the database's default
-- collation.

CREATE TABLE IF NOT EXISTS hostaccess.accounts (
    id         text COLLATE "C" PRIMARY KEY,
    name       text             NOT NULL,
    host_id    text             NOT NULL,
    admin_cap  integer          NOT NULL,
    created_at timestamptz      NOT NULL
);

CREATE TABLE IF NOT EXISTS hostaccess.people (
    user_id      text COLLATE "C" PRIMARY KEY,
    email        text             NOT NULL,
    display_name text             NOT NULL,
    updated_at   timestamptz      NOT NULL
);

CREATE TABLE IF NOT EXISTS hostaccess.invitations (
    id            text COLLATE "C" PRIMARY KEY,
    account_id    text COLLATE "C" NOT NULL,
    email         text             NOT NULL,
    token_hash    bytea            NOT NULL,  -- SHA-256 of the token; the token is never stored
    access        jsonb,
    invited_by    text             NOT NULL,
    created_at    timestamptz      NOT NULL,
    expires_at    timestamptz      NOT NULL,
    status        text             NOT NULL,
    status_at     timestamptz,                -- NULL until the status first changes
    status_by     text             NOT NULL DEFAULT '',
    superseded_by text COLLATE "C" NOT NULL DEFAULT '',
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash)
);

-- ListInvitations: one account's, oldest first.
CREATE INDEX IF NOT EXISTS invitations_account_idx
    ON hostaccess.invitations (account_id, created_at, id);

CREATE TABLE IF NOT EXISTS hostaccess.contacts (
    id         text COLLATE "C" PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    email      text             NOT NULL,
    phone      text             NOT NULL,
    created_at timestamptz      NOT NULL,
    updated_at timestamptz      NOT NULL
);

-- ListContacts: one account's, by name.
CREATE INDEX IF NOT EXISTS contacts_account_idx
    ON hostaccess.contacts (account_id, name, id);

-- The audit log, append-only. seq increases with every entry (an identity
-- column: gaps allowed, never reused).
CREATE TABLE IF NOT EXISTS hostaccess.audit (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz      NOT NULL,
    actor        text             NOT NULL,
    flow         text             NOT NULL,
    account_id   text COLLATE "C" NOT NULL,
    target       text             NOT NULL,
    before_state jsonb,
    after_state  jsonb,
    zed_token    text             NOT NULL
);

-- ListAudit: one account's, newest first, paged by seq.
CREATE INDEX IF NOT EXISTS audit_account_seq_idx
    ON hostaccess.audit (account_id, seq);
