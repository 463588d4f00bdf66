-- 010_audit: the decision audit trail (`fraud-engine sink audit`).
--
-- One row per decided authorization, partitioned by UTC day of event_time (declarative range
-- partitioning). The sink creates the partitions of the days in each batch on demand through
-- decision_audit_ensure_partition(); anything outside them lands in the default partition.
--
-- Primary key (auth_id, event_time): on a partitioned table every unique constraint must
-- include the partition key, so auth_id alone cannot be the key. A decision for one auth id
-- always carries the event_time of its authorization (a redelivery or a re-decision keeps it),
-- so (auth_id, event_time) identifies an authorization exactly as auth_id does, and
-- INSERT … ON CONFLICT DO NOTHING on it makes the sink idempotent.
--
-- Idempotent on purpose (IF NOT EXISTS / OR REPLACE): either migration runner may apply it.

CREATE TABLE IF NOT EXISTS decision_audit (
  auth_id            text             NOT NULL,
  event_time         timestamptz      NOT NULL,
  card_token         text             NOT NULL,
  outcome            text             NOT NULL CHECK (outcome IN ('APPROVE', 'REVIEW', 'DECLINE')),
  score              double precision,
  reasons            text[]           NOT NULL DEFAULT '{}',
  rule_hits          jsonb            NOT NULL DEFAULT '[]',
  tags               text[]           NOT NULL DEFAULT '{}',
  degraded           text[]           NOT NULL DEFAULT '{}',
  features           jsonb            NOT NULL DEFAULT '{}',
  model_version      text             NOT NULL,
  ruleset_version    text             NOT NULL,
  decided_time       timestamptz      NOT NULL,
  engine_latency_ms  double precision,
  kafka_partition    integer,
  kafka_offset       bigint,
  written_at         timestamptz      NOT NULL DEFAULT now(),
  explanation        text,
  explanation_model  text,
  explained_at       timestamptz,
  PRIMARY KEY (auth_id, event_time)
) PARTITION BY RANGE (event_time);

CREATE TABLE IF NOT EXISTS decision_audit_default PARTITION OF decision_audit DEFAULT;

-- `decisions search --card … --from … --to …`
CREATE INDEX IF NOT EXISTS decision_audit_card_time_idx ON decision_audit (card_token, event_time);

-- The partition of one UTC day, decision_audit_pYYYYMMDD = [day, day + 1). Concurrent sinks
-- serialise on a transaction-scoped advisory lock, so two of them never race on the DDL.
-- Returns false (and creates nothing) when the default partition already holds rows of that
-- day: those rows stay where they are and the day keeps using the default partition.
CREATE OR REPLACE FUNCTION decision_audit_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  part text := format('decision_audit_p%s', to_char(day, 'YYYYMMDD'));
  lo timestamptz := (day::timestamp AT TIME ZONE 'UTC');
  hi timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
BEGIN
  IF to_regclass(part) IS NOT NULL THEN RETURN true; END IF;
  PERFORM pg_advisory_xact_lock(hashtext('decision_audit_partition'));
  IF to_regclass(part) IS NOT NULL THEN RETURN true; END IF;
  IF EXISTS (SELECT 1 FROM decision_audit_default WHERE event_time >= lo AND event_time < hi) THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF decision_audit FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  RETURN true;
END
$$;
