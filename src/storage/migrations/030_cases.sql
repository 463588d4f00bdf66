-- 030_cases: the analysts' review cases (src/cases/). A case is a REVIEW decision of the audit
-- trail (decision_audit); these tables hold what people do with it.

-- Who works a case: one row per case, taken atomically (INSERT … ON CONFLICT … WHERE the claim
-- lapsed or is the same person's), so two analysts never hold one case. A claim lapses at
-- expires_at (console.claim_ttl_minutes after it was taken or renewed).
CREATE TABLE IF NOT EXISTS case_claims (
  auth_id      text        PRIMARY KEY,
  claimed_by   text        NOT NULL,
  claimed_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  -- Set when someone else assigned the case to claimed_by.
  assigned_by  text
);

-- Verdicts, append-only: fraud and legitimate close a case (at most one per case, enforced by
-- the unique index below, so a second analyst's verdict fails instead of overwriting); escalate
-- may precede the closing verdict.
CREATE TABLE IF NOT EXISTS case_verdicts (
  id           bigserial   PRIMARY KEY,
  auth_id      text        NOT NULL,
  event_time   timestamptz NOT NULL,
  card_token   text        NOT NULL,
  verdict      text        NOT NULL CHECK (verdict IN ('fraud', 'legitimate', 'escalate')),
  note         text        NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
  decided_by   text        NOT NULL,
  decided_at   timestamptz NOT NULL DEFAULT now(),
  -- A bulk verdict: the case it was given from.
  bulk_of      text
);
CREATE UNIQUE INDEX IF NOT EXISTS case_verdicts_closing_idx ON case_verdicts (auth_id) WHERE verdict <> 'escalate';
CREATE INDEX IF NOT EXISTS case_verdicts_auth_idx ON case_verdicts (auth_id, id);
-- The queue's "decided" view: latest closing verdict first.
CREATE INDEX IF NOT EXISTS case_verdicts_decided_idx ON case_verdicts (decided_at DESC, id DESC) WHERE verdict <> 'escalate';

CREATE OR REPLACE FUNCTION case_verdicts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'case_verdicts is append-only (% refused)', TG_OP;
END
$$;
DROP TRIGGER IF EXISTS case_verdicts_append_only ON case_verdicts;
CREATE TRIGGER case_verdicts_append_only BEFORE UPDATE OR DELETE ON case_verdicts
  FOR EACH ROW EXECUTE FUNCTION case_verdicts_append_only();

-- The transactional outbox of analyst labels: written in the verdict's transaction, published
-- to Kafka by the relay (src/cases/relay.ts), which marks a row sent only after the broker
-- acknowledged it. A Kafka outage leaves rows pending; nothing is lost.
CREATE TABLE IF NOT EXISTS label_outbox (
  id           bigserial   PRIMARY KEY,
  verdict_id   bigint      NOT NULL REFERENCES case_verdicts (id),
  topic        text        NOT NULL,
  message_key  text        NOT NULL,
  -- The label (LabelEvent, config/schemas/label.avsc) as JSON, encoded by the relay.
  label        jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  sent_at      timestamptz,
  attempts     integer     NOT NULL DEFAULT 0,
  last_error   text
);
CREATE INDEX IF NOT EXISTS label_outbox_pending_idx ON label_outbox (topic, id) WHERE sent_at IS NULL;
