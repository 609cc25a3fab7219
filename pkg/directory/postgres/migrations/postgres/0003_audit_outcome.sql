-- Audit entries double as the flows' write-ahead journal: a flow records its
-- entry as an intent before its relationship write and settles it (applied
-- or abandoned) afterwards; recovery settles the intents a crash left
-- behind. Entries written before this migration were all applied.
ALTER TABLE hostaccess.audit
    ADD COLUMN IF NOT EXISTS outcome   text  NOT NULL DEFAULT 'applied',
    ADD COLUMN IF NOT EXISTS operation text  NOT NULL DEFAULT '',  -- the flow's marker relationship
    ADD COLUMN IF NOT EXISTS recovery  jsonb;                      -- the steps that finish or undo the flow

-- ListAuditIntents: the unsettled intents, oldest first. Only intents are
-- indexed, and they are few: every flow settles its own.
CREATE INDEX IF NOT EXISTS audit_intent_idx
    ON hostaccess.audit (seq) WHERE outcome = 'intent';
