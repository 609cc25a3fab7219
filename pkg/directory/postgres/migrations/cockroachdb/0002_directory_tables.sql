-- The directory: accounts, people, invitations, contacts and the audit log.
--
-- CockroachDB compares STRING by bytes, as Go's strings.Compare does, so no
-- collation is declared (PostgreSQL's version of this file says COLLATE "C").
-- Every statement is idempotent: see 0001_schema_version.sql.

CREATE TABLE IF NOT EXISTS hostaccess.accounts (
    id         STRING      PRIMARY KEY,
    name       STRING      NOT NULL,
    host_id    STRING      NOT NULL,
    admin_cap  INT8        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS hostaccess.people (
    user_id      STRING      PRIMARY KEY,
    email        STRING      NOT NULL,
    display_name STRING      NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS hostaccess.invitations (
    id            STRING      PRIMARY KEY,
    account_id    STRING      NOT NULL,
    email         STRING      NOT NULL,
    token_hash    BYTES       NOT NULL,  -- SHA-256 of the token; the token is never stored
    access        JSONB,
    invited_by    STRING      NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    status        STRING      NOT NULL,
    status_at     TIMESTAMPTZ,           -- NULL until the status first changes
    status_by     STRING      NOT NULL DEFAULT '',
    superseded_by STRING      NOT NULL DEFAULT '',
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX IF NOT EXISTS invitations_account_idx
    ON hostaccess.invitations (account_id, created_at, id);

CREATE TABLE IF NOT EXISTS hostaccess.contacts (
    id         STRING      PRIMARY KEY,
    account_id STRING      NOT NULL,
    name       STRING      NOT NULL,
    email      STRING      NOT NULL,
    phone      STRING      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS contacts_account_idx
    ON hostaccess.contacts (account_id, name, id);

-- The audit log, append-only. seq comes from a sequence, not from SERIAL
-- (which CockroachDB fills with unique_rowid(): unique, but only roughly
-- ordered by time across nodes). The primary key leads with account_id so that
-- appends spread over ranges instead of all landing on the newest seq, and
-- it is the (account_id, seq) index ListAudit scans.
CREATE SEQUENCE IF NOT EXISTS hostaccess.audit_seq;

CREATE TABLE IF NOT EXISTS hostaccess.audit (
    account_id   STRING      NOT NULL,
    seq          INT8        NOT NULL DEFAULT nextval('hostaccess.audit_seq'),
    occurred_at  TIMESTAMPTZ NOT NULL,
    actor        STRING      NOT NULL,
    flow         STRING      NOT NULL,
    target       STRING      NOT NULL,
    before_state JSONB,
    after_state  JSONB,
    zed_token    STRING      NOT NULL,
    PRIMARY KEY (account_id, seq)
);
