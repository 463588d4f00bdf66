-- 015_audit_challenger: the challenger model's score and version on each audit row (the
-- decision's optional `challenger_score` and `challenger_version`), for comparing it with the
-- champion on labelled live traffic. NULL on rows without a challenger (none configured, it
-- failed, decisions written before the fields). Nullable columns on the partitioned parent reach
-- every partition without a rewrite.

ALTER TABLE decision_audit
  ADD COLUMN IF NOT EXISTS challenger_score double precision,
  ADD COLUMN IF NOT EXISTS challenger_version text;
