-- Audit entries double as the flows' write-ahead journal: a flow records its
-- entry as an intent before its relationship write and settles it (applied
-- or abandoned) afterwards; recovery settles the intents a crash left
-- behind. Entries written before this migration were all applied.
-- Every statement is idempotent: see 0001_schema_version.sql.
ALTER TABLE hostaccess.audit
    ADD COLUMN IF NOT EXISTS outcome   STRING NOT NULL DEFAULT 'applied',
    ADD COLUMN IF NOT EXISTS operation STRING NOT NULL DEFAULT '',  -- the flow's marker relationship
    ADD COLUMN IF NOT EXISTS recovery  JSONB;                       -- the steps that finish or undo the flow

-- ListAuditIntents and SettleAudit: the primary key leads with account_id,
-- and both look entries up by seq alone. Only intents are indexed, and they
-- are few: every flow settles its own. (A partial index needs CockroachDB
-- 20.2 or later.)
CREATE INDEX IF NOT EXISTS audit_intent_idx
    ON hostaccess.audit (seq) WHERE outcome = 'intent';
