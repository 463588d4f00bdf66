-- 014_audit_factors: the model's top factors on each audit row (the decision's optional
-- `factors` array: [{feature, value, contribution}], largest |contribution| first), for
-- `decisions show`, the assistant's explain and the console. NULL on rows whose decision carried
-- none (APPROVE, no model score, a model without a trees file, decisions written before the
-- field). A nullable column on the partitioned parent reaches every partition without a rewrite.

ALTER TABLE decision_audit
  ADD COLUMN IF NOT EXISTS factors jsonb;
