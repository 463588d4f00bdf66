-- 002_four_eyes: a change to the rules or the lists is proposed by one identified person and takes
-- effect only once a different approver approves it (src/rules/pg-approvals.ts).
--
-- A ruleset version now starts `pending` (a change request); approved it becomes `active`,
-- rejected `rejected`. `draft` stays for versions published before four eyes: activating one is
-- a request like a rollback. Every request, for a new version or for activating an older one
-- (rollback), is a row of ruleset_requests; list changes are rows of list_change_requests.
--
-- Enforced here too, not only in the library: the approver is never the author / requester; a
-- version becomes active only with an approver recorded; once out of `pending` a version's rules,
-- thresholds and texts cannot change and the version cannot be deleted; decided requests are final.
-- No foreign key to users: this file runs before 020_identity on a fresh database.

ALTER TABLE rulesets DROP CONSTRAINT IF EXISTS rulesets_status_check;
ALTER TABLE rulesets ADD CONSTRAINT rulesets_status_check
  CHECK (status IN ('pending', 'draft', 'active', 'retired', 'rejected'));
ALTER TABLE rulesets ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE rulesets ADD COLUMN IF NOT EXISTS approved_by text;
ALTER TABLE rulesets ADD COLUMN IF NOT EXISTS approved_at timestamptz;
ALTER TABLE rulesets ADD COLUMN IF NOT EXISTS decision_comment text NOT NULL DEFAULT '';
ALTER TABLE rulesets ADD CONSTRAINT rulesets_four_eyes CHECK (approved_by IS NULL OR approved_by <> author);

-- Who asked for an activation (the approver is activated_by).
ALTER TABLE ruleset_activations ADD COLUMN IF NOT EXISTS requested_by text;

CREATE TABLE IF NOT EXISTS ruleset_requests (
  id                bigserial   PRIMARY KEY,
  version           text        NOT NULL REFERENCES rulesets (version),
  -- publish: a new version; activate: an older version in force again (a rollback).
  kind              text        NOT NULL CHECK (kind IN ('publish', 'activate')),
  requested_by      text        NOT NULL,
  requested_at      timestamptz NOT NULL DEFAULT now(),
  comment           text        NOT NULL DEFAULT '',
  -- The active version when requested, for the record (the diff is shown against the active one).
  base_version      text,
  status            text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by        text,
  decided_at        timestamptz,
  decision_comment  text        NOT NULL DEFAULT '',
  CONSTRAINT ruleset_requests_decided CHECK ((status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)),
  CONSTRAINT ruleset_requests_four_eyes CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE UNIQUE INDEX IF NOT EXISTS ruleset_requests_one_open ON ruleset_requests (version) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS list_change_requests (
  id                bigserial   PRIMARY KEY,
  name              text        NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
  value             text        NOT NULL CHECK (value <> ''),
  op                text        NOT NULL CHECK (op IN ('add', 'remove')),
  requested_by      text        NOT NULL,
  requested_at      timestamptz NOT NULL DEFAULT now(),
  comment           text        NOT NULL DEFAULT '',
  status            text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by        text,
  decided_at        timestamptz,
  decision_comment  text        NOT NULL DEFAULT '',
  CONSTRAINT list_change_requests_decided CHECK ((status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)),
  CONSTRAINT list_change_requests_four_eyes CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE UNIQUE INDEX IF NOT EXISTS list_change_requests_one_open ON list_change_requests (name, value) WHERE status = 'pending';

-- A list value now carries its approver. NOT VALID: enforced for every new row, not for the
-- values added before four eyes.
ALTER TABLE lists ADD COLUMN IF NOT EXISTS approved_by text;
ALTER TABLE lists ADD CONSTRAINT lists_four_eyes CHECK (approved_by IS NOT NULL AND approved_by <> added_by) NOT VALID;
ALTER TABLE list_changes ADD COLUMN IF NOT EXISTS approved_by text;
ALTER TABLE list_changes ADD COLUMN IF NOT EXISTS request_id bigint REFERENCES list_change_requests (id);
ALTER TABLE list_changes ADD CONSTRAINT list_changes_four_eyes CHECK (approved_by IS NOT NULL AND approved_by <> changed_by) NOT VALID;

-- A version out of `pending` is immutable but for its status (and its first approval); the
-- status moves only forward; nothing becomes active without an approver.
CREATE OR REPLACE FUNCTION rulesets_four_eyes_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'pending' THEN
      RAISE EXCEPTION 'ruleset % is %: published versions are immutable and cannot be deleted', OLD.version, OLD.status;
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status <> 'pending' AND (NEW.version, NEW.author, NEW.created_at, NEW.comment, NEW.description, NEW.thresholds, NEW.source)
       IS DISTINCT FROM (OLD.version, OLD.author, OLD.created_at, OLD.comment, OLD.description, OLD.thresholds, OLD.source) THEN
    RAISE EXCEPTION 'ruleset % is %: its thresholds and texts are immutable', OLD.version, OLD.status;
  END IF;
  IF OLD.approved_by IS NOT NULL AND NEW.approved_by IS DISTINCT FROM OLD.approved_by THEN
    RAISE EXCEPTION 'ruleset %: its approval is recorded and cannot change', OLD.version;
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'pending' AND NEW.status IN ('active', 'rejected'))
    OR (OLD.status IN ('draft', 'retired') AND NEW.status = 'active')
    OR (OLD.status = 'active' AND NEW.status = 'retired')) THEN
    RAISE EXCEPTION 'ruleset %: status % -> % refused', OLD.version, OLD.status, NEW.status;
  END IF;
  IF NEW.status = 'active' AND OLD.status <> 'active' AND NEW.approved_by IS NULL THEN
    RAISE EXCEPTION 'ruleset % cannot become active without an approver (four eyes)', OLD.version;
  END IF;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS rulesets_four_eyes ON rulesets;
CREATE TRIGGER rulesets_four_eyes BEFORE UPDATE OR DELETE ON rulesets
  FOR EACH ROW EXECUTE FUNCTION rulesets_four_eyes_guard();

-- Rules change only while their version is pending (a cascade from deleting a pending version
-- finds no parent row any more and passes).
CREATE OR REPLACE FUNCTION rules_immutable_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  s text;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT status INTO s FROM rulesets WHERE version = OLD.ruleset_version;
    IF s IS NOT NULL AND s <> 'pending' THEN
      RAISE EXCEPTION 'ruleset % is %: its rules are immutable (% refused)', OLD.ruleset_version, s, TG_OP;
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT status INTO s FROM rulesets WHERE version = NEW.ruleset_version;
    IF s IS NOT NULL AND s <> 'pending' THEN
      RAISE EXCEPTION 'ruleset % is %: its rules are immutable (% refused)', NEW.ruleset_version, s, TG_OP;
    END IF;
    RETURN NEW;
  END IF;
  RETURN OLD;
END
$$;

DROP TRIGGER IF EXISTS rules_immutable ON rules;
CREATE TRIGGER rules_immutable BEFORE INSERT OR UPDATE OR DELETE ON rules
  FOR EACH ROW EXECUTE FUNCTION rules_immutable_guard();

-- A decided request is final: neither changed nor deleted.
CREATE OR REPLACE FUNCTION four_eyes_requests_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'pending' THEN
    RAISE EXCEPTION '% request % was % by %: decided requests are final', TG_TABLE_NAME, OLD.id, OLD.status, OLD.decided_by;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS ruleset_requests_final ON ruleset_requests;
CREATE TRIGGER ruleset_requests_final BEFORE UPDATE OR DELETE ON ruleset_requests
  FOR EACH ROW EXECUTE FUNCTION four_eyes_requests_final();
DROP TRIGGER IF EXISTS list_change_requests_final ON list_change_requests;
CREATE TRIGGER list_change_requests_final BEFORE UPDATE OR DELETE ON list_change_requests
  FOR EACH ROW EXECUTE FUNCTION four_eyes_requests_final();
