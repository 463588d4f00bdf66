-- 001_rules: rulesets versioned with who / when / why, their rules, allow/block lists, and the
-- logs of activations and list changes (`fraud-engine rules …`, `fraud-engine lists …`).
--
-- A ruleset version is immutable once published; only its status moves:
--   draft (published, never active) -> active -> retired (superseded; activating it again is a rollback).
-- At most one version is active (partial unique index). Lists are not versioned: a change applies
-- to the running engines at once (NOTIFY fraud_rules), and is logged in list_changes.
--
-- Numbers 001-009 belong to the rules; 010 and up to the audit trail (010_audit.sql).

CREATE TABLE IF NOT EXISTS rulesets (
  version      text        PRIMARY KEY CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  status       text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'retired')),
  author       text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  comment      text        NOT NULL DEFAULT '',
  description  text        NOT NULL DEFAULT '',
  thresholds   jsonb       NOT NULL CHECK (jsonb_typeof(thresholds -> 'review') = 'number' AND jsonb_typeof(thresholds -> 'decline') = 'number'),
  -- Where the version came from (e.g. the directory it was imported from), for people.
  source       text        NOT NULL DEFAULT ''
);

CREATE UNIQUE INDEX IF NOT EXISTS rulesets_one_active ON rulesets ((status)) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS rules (
  ruleset_version  text    NOT NULL REFERENCES rulesets (version) ON DELETE CASCADE,
  id               text    NOT NULL CHECK (id ~ '^[a-z][a-z0-9_]{0,63}$'),
  description      text    NOT NULL DEFAULT '',
  expression       text    NOT NULL,
  action           text    NOT NULL CHECK (action ~ '^(DECLINE|REVIEW|APPROVE|TAG:[a-z0-9_]{1,64})$'),
  priority         integer NOT NULL DEFAULT 0,
  mode             text    NOT NULL DEFAULT 'active' CHECK (mode IN ('active', 'shadow')),
  owner            text    NOT NULL DEFAULT '',
  -- Order in the published files, so that `rules show` prints them as written.
  position         integer NOT NULL,
  PRIMARY KEY (ruleset_version, id)
);

CREATE TABLE IF NOT EXISTS ruleset_activations (
  id                bigserial   PRIMARY KEY,
  version           text        NOT NULL REFERENCES rulesets (version),
  previous_version  text        REFERENCES rulesets (version),
  activated_by      text        NOT NULL,
  activated_at      timestamptz NOT NULL DEFAULT now(),
  comment           text        NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS lists (
  name      text        NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
  value     text        NOT NULL CHECK (value <> ''),
  added_by  text        NOT NULL,
  added_at  timestamptz NOT NULL DEFAULT now(),
  comment   text        NOT NULL DEFAULT '',
  PRIMARY KEY (name, value)
);

-- Every add and remove; max(id) is the engines' cheap "have the lists changed?" stamp.
CREATE TABLE IF NOT EXISTS list_changes (
  id          bigserial   PRIMARY KEY,
  name        text        NOT NULL,
  value       text        NOT NULL,
  op          text        NOT NULL CHECK (op IN ('add', 'remove')),
  changed_by  text        NOT NULL,
  changed_at  timestamptz NOT NULL DEFAULT now(),
  comment     text        NOT NULL DEFAULT ''
);
