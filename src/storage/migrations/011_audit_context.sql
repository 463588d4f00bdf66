-- 011_audit_context: the authorization's own fields on each audit row (the decision's optional
-- `context` record), for the analysts' cases, timelines and labels. NULL on rows written from
-- decisions that did not carry them. Adding nullable columns to the partitioned parent adds them
-- to every partition without rewriting rows.

ALTER TABLE decision_audit
  ADD COLUMN IF NOT EXISTS customer_id   text,
  ADD COLUMN IF NOT EXISTS terminal_id   text,
  ADD COLUMN IF NOT EXISTS merchant_id   text,
  ADD COLUMN IF NOT EXISTS mcc           text,
  ADD COLUMN IF NOT EXISTS amount_minor  bigint,
  ADD COLUMN IF NOT EXISTS currency      text,
  ADD COLUMN IF NOT EXISTS channel       text,
  ADD COLUMN IF NOT EXISTS country       text,
  ADD COLUMN IF NOT EXISTS device_id     text;
