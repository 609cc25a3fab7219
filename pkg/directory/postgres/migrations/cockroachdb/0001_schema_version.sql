-- The schema every hostaccess table lives in, beside SpiceDB's tables, and
-- the single row recording how far it has been migrated.
--
-- On CockroachDB each statement runs in its own transaction and must be
-- idempotent: two nodes may run it at once, and the loser's conditional
-- version write fails, so it retries and finds the work done.
CREATE SCHEMA IF NOT EXISTS hostaccess;

CREATE TABLE IF NOT EXISTS hostaccess.schema_version (
    id          INT2        PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version_num STRING      NOT NULL,
    migrated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO hostaccess.schema_version (id, version_num) VALUES (1, '')
ON CONFLICT (id) DO NOTHING;
