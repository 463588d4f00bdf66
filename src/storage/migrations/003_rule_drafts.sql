-- 003_rule_drafts: rulesets being edited in the console (`/rules/drafts`), before they are
-- submitted as a version. A draft is the ruleset's YAML text as the CLI reads it (`rules
-- validate|backtest|publish <file>`), kept as typed, even when it does not compile yet.
-- Drafts are working copies, not history: they are updated in place; what was submitted is the
-- immutable version in `rulesets` (submitted_version), and every save and submission is in action_log.

CREATE TABLE IF NOT EXISTS rule_drafts (
  id                 bigserial   PRIMARY KEY,
  owner              text        NOT NULL,
  -- The version it started from (the active one at the time); NULL: the files of rules.dir.
  based_on           text,
  content            text        NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  updated_by         text        NOT NULL,
  submitted_version  text        REFERENCES rulesets (version),
  submitted_at       timestamptz
);

CREATE INDEX IF NOT EXISTS rule_drafts_updated_idx ON rule_drafts (updated_at DESC);
