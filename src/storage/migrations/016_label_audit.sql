-- 016_label_audit: the fraud labels that arrived (topic `fraud-labels`: chargebacks from the
-- gateway or the simulator, analyst verdicts from the cases outbox), stored by the audit sink
-- beside decision_audit so that live traffic can be scored against what turned out to be fraud
-- (`fraud-engine models compare`, `train --from-audit`).
--
-- One row per (auth_id, source): a redelivered label is stored once, and a chargeback and an
-- analyst verdict on the same authorization are BOTH kept, even when they disagree; the reader
-- decides (models compare: fraud if any label says fraud). Within one source a label with a later
-- label_time replaces the stored one (a corrected label); an equal or older one changes nothing,
-- so a redelivery is a no-op.
--
-- Not partitioned: labels are a small fraction of decisions (frauds, reviewed cases).
-- Idempotent on purpose (IF NOT EXISTS): either migration runner may apply it.

CREATE TABLE IF NOT EXISTS label_audit (
  auth_id      text        NOT NULL,
  source       text        NOT NULL,
  card_token   text        NOT NULL,
  customer_id  text        NOT NULL,
  terminal_id  text        NOT NULL,
  -- event_time of the labelled authorization (decision_audit.event_time).
  tx_time      timestamptz NOT NULL,
  -- When the label became known (chargeback / verdict time).
  label_time   timestamptz NOT NULL,
  fraud        boolean     NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (auth_id, source)
);

-- Joins with decision_audit go through the primary key (auth_id first). Labels known by a date
-- (the label delay: only labels with label_time <= the cut-off count):
CREATE INDEX IF NOT EXISTS label_audit_label_time_idx ON label_audit (label_time);
-- The labels of a window of authorizations (training and comparison windows by tx_time):
CREATE INDEX IF NOT EXISTS label_audit_tx_time_idx ON label_audit (tx_time);
