-- 004_model_versions: a model promotion is a versioned change under four eyes, like a ruleset
-- (src/models/registry/). A row of model_versions is one model file published for one role
-- (champion: decides; challenger: scored beside it, never deciding): the model's version from its
-- metadata, the ONNX file's path as the engines see it, and the file's sha256 at publication, so an
-- engine loads exactly the bytes that were approved. Every request (publish a version for a role,
-- retire the challenger) is a row of model_requests, decided by an approver who did not make it.
--
-- Enforced here too, not only in the library: the approver is never the author / requester; a
-- version becomes active only with an approver recorded; at most one active version per role;
-- once out of `pending` a row's version, role, path, hash, author and texts cannot change and it
-- cannot be deleted; its state moves only pending -> active | rejected, active -> retired;
-- decided requests are final. Every request and decision is in action_log (library).

CREATE TABLE IF NOT EXISTS model_versions (
  id                bigserial   PRIMARY KEY,
  version           text        NOT NULL CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  role              text        NOT NULL CHECK (role IN ('champion', 'challenger')),
  onnx_path         text        NOT NULL CHECK (onnx_path <> ''),
  sha256            text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- The metadata's feature count, for the listing (the engine checks the names themselves).
  features          integer     NOT NULL CHECK (features > 0),
  author            text        NOT NULL,
  comment           text        NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL DEFAULT now(),
  state             text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'active', 'rejected', 'retired')),
  approved_by       text,
  approved_at       timestamptz,
  retired_at        timestamptz,
  decision_comment  text        NOT NULL DEFAULT '',
  CONSTRAINT model_versions_four_eyes CHECK (approved_by IS NULL OR approved_by <> author),
  CONSTRAINT model_versions_approved CHECK (state NOT IN ('active', 'retired') OR (approved_by IS NOT NULL AND approved_at IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_one_active ON model_versions (role) WHERE state = 'active';
-- One open publication of a version at a time (`models approve V` names it unambiguously).
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_one_pending ON model_versions (version) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS model_versions_version_idx ON model_versions (version);

CREATE TABLE IF NOT EXISTS model_requests (
  id                bigserial   PRIMARY KEY,
  model_id          bigint      NOT NULL REFERENCES model_versions (id),
  -- publish: the row becomes active for its role; retire: the active challenger leaves its role.
  kind              text        NOT NULL CHECK (kind IN ('publish', 'retire')),
  requested_by      text        NOT NULL,
  requested_at      timestamptz NOT NULL DEFAULT now(),
  comment           text        NOT NULL DEFAULT '',
  -- The version active in the role when requested, for the record.
  base_version      text,
  status            text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by        text,
  decided_at        timestamptz,
  decision_comment  text        NOT NULL DEFAULT '',
  CONSTRAINT model_requests_decided CHECK ((status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)),
  CONSTRAINT model_requests_four_eyes CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE UNIQUE INDEX IF NOT EXISTS model_requests_one_open ON model_requests (model_id) WHERE status = 'pending';

CREATE OR REPLACE FUNCTION model_versions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.state <> 'pending' THEN
      RAISE EXCEPTION 'model % (%) is %: published model versions are immutable and cannot be deleted', OLD.version, OLD.role, OLD.state;
    END IF;
    RETURN OLD;
  END IF;
  IF (NEW.id, NEW.version, NEW.role, NEW.onnx_path, NEW.sha256, NEW.features, NEW.author, NEW.created_at, NEW.comment)
       IS DISTINCT FROM (OLD.id, OLD.version, OLD.role, OLD.onnx_path, OLD.sha256, OLD.features, OLD.author, OLD.created_at, OLD.comment) THEN
    RAISE EXCEPTION 'model % (%): its version, role, file, hash, author and comment are immutable', OLD.version, OLD.role;
  END IF;
  IF OLD.approved_by IS NOT NULL AND (NEW.approved_by, NEW.approved_at) IS DISTINCT FROM (OLD.approved_by, OLD.approved_at) THEN
    RAISE EXCEPTION 'model % (%): its approval is recorded and cannot change', OLD.version, OLD.role;
  END IF;
  IF OLD.state <> 'pending' AND NEW.decision_comment IS DISTINCT FROM OLD.decision_comment THEN
    RAISE EXCEPTION 'model % (%): its decision is recorded and cannot change', OLD.version, OLD.role;
  END IF;
  IF NEW.state <> OLD.state AND NOT (
       (OLD.state = 'pending' AND NEW.state IN ('active', 'rejected'))
    OR (OLD.state = 'active' AND NEW.state = 'retired')) THEN
    RAISE EXCEPTION 'model % (%): state % -> % refused', OLD.version, OLD.role, OLD.state, NEW.state;
  END IF;
  IF NEW.state = 'active' AND OLD.state <> 'active' AND NEW.approved_by IS NULL THEN
    RAISE EXCEPTION 'model % (%) cannot become active without an approver (four eyes)', OLD.version, OLD.role;
  END IF;
  IF NEW.state = OLD.state AND OLD.state <> 'pending' AND NEW.retired_at IS DISTINCT FROM OLD.retired_at THEN
    RAISE EXCEPTION 'model % (%): retired_at changes only with the state', OLD.version, OLD.role;
  END IF;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS model_versions_four_eyes ON model_versions;
CREATE TRIGGER model_versions_four_eyes BEFORE UPDATE OR DELETE ON model_versions
  FOR EACH ROW EXECUTE FUNCTION model_versions_guard();

-- A decided request is final (the function of 002_four_eyes).
DROP TRIGGER IF EXISTS model_requests_final ON model_requests;
CREATE TRIGGER model_requests_final BEFORE UPDATE OR DELETE ON model_requests
  FOR EACH ROW EXECUTE FUNCTION four_eyes_requests_final();
