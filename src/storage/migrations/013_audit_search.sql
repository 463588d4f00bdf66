-- 013_audit_search: the indexes behind the console's review queue, decision search and case
-- timelines (src/cases/). 010 already has (card_token, event_time) for a card's decisions and
-- the primary key (auth_id, event_time) for one authorization; these add the rest. Created on
-- the partitioned parent, so every partition (present and future) gets them.

-- The review queue (outcome = 'REVIEW', oldest first) and searches by outcome over a time range.
-- auth_id included: the queue's depth and age are counted from the index alone (the anti-join on
-- case_verdicts needs only the auth id).
CREATE INDEX IF NOT EXISTS decision_audit_outcome_time_idx ON decision_audit (outcome, event_time) INCLUDE (auth_id);

-- Searches over a time range with no other filter, newest first.
CREATE INDEX IF NOT EXISTS decision_audit_time_idx ON decision_audit (event_time);

-- Searches by rule: rule_hits @> '[{"rule_id": "…"}]' (active and shadow hits alike).
CREATE INDEX IF NOT EXISTS decision_audit_rule_hits_idx ON decision_audit USING gin (rule_hits jsonb_path_ops);

-- A case's timelines and the customer's usual behaviour (their recent decisions).
CREATE INDEX IF NOT EXISTS decision_audit_customer_time_idx ON decision_audit (customer_id, event_time)
  WHERE customer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS decision_audit_terminal_time_idx ON decision_audit (terminal_id, event_time)
  WHERE terminal_id IS NOT NULL;
