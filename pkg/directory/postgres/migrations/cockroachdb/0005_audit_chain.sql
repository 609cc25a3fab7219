-- The audit log as evidence (pkg/directory/chain.go): every entry whose
-- outcome is final is sealed into one hash chain. chain_seq is its position,
-- hash covers its content and prev_hash, the hash of the entry before it.
-- Entries written before this migration are not sealed: they stay readable
-- but are not part of the chain.
-- Every statement is idempotent: see 0001_schema_version.sql.
ALTER TABLE hostaccess.audit
    ADD COLUMN IF NOT EXISTS chain_seq INT8,
    ADD COLUMN IF NOT EXISTS prev_hash BYTES,
    ADD COLUMN IF NOT EXISTS hash      BYTES;

-- The feed and the export read the chain in order, all of it or one account's.
CREATE UNIQUE INDEX IF NOT EXISTS audit_chain_idx
    ON hostaccess.audit (chain_seq) WHERE chain_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_account_chain_idx
    ON hostaccess.audit (account_id, chain_seq) WHERE chain_seq IS NOT NULL;
-- The change log queried by who made a change, or what it was about.
CREATE INDEX IF NOT EXISTS audit_actor_seq_idx ON hostaccess.audit (actor, seq);
CREATE INDEX IF NOT EXISTS audit_target_seq_idx ON hostaccess.audit (target, seq);

-- The chain's one row: its head (newest sealed entry), which every seal
-- locks, so positions are given in commit order; and its anchor, the last
-- entry retention removed, which the first stored entry links to.
CREATE TABLE IF NOT EXISTS hostaccess.audit_chain (
    id          INT8  PRIMARY KEY CHECK (id = 1),
    head_seq    INT8  NOT NULL,
    head_hash   BYTES,
    anchor_seq  INT8  NOT NULL,
    anchor_hash BYTES
);
INSERT INTO hostaccess.audit_chain (id, head_seq, anchor_seq) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;
