-- The schema every hostaccess table lives in, beside SpiceDB's tables, and
-- the single row recording how far it has been migrated. Migrate sets
-- version_num in the same transaction as each migration's DDL.
CREATE SCHEMA IF NOT EXISTS hostaccess;

CREATE TABLE IF NOT EXISTS hostaccess.schema_version (
    id          smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version_num text        NOT NULL,
    migrated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO hostaccess.schema_version (id, version_num) VALUES (1, '')
ON CONFLICT (id) DO NOTHING;
