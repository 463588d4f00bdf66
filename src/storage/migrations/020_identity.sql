-- 020_identity: the people who use the console and the rules tooling, their sessions, and the
-- append-only log of everything they do (`fraud-engine users …`, `fraud-engine console`).
--
-- Numbers 020-029 belong to identity and the console's own state.
--
-- users.password_hash is scrypt (src/identity/passwords.ts); NULL for a user who signs in by OIDC
-- only. Sessions store the SHA-256 of the cookie's value, never the value itself, so a copy of
-- the table does not let anyone in. action_log refuses UPDATE, DELETE and TRUNCATE.

CREATE TABLE IF NOT EXISTS users (
  username      text        PRIMARY KEY CHECK (username ~ '^[a-z][a-z0-9._-]{1,63}$'),
  display_name  text        NOT NULL DEFAULT '',
  roles         text[]      NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['analyst', 'approver', 'admin']),
  password_hash text,
  disabled      boolean     NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text        NOT NULL
);

CREATE TABLE IF NOT EXISTS console_sessions (
  id_hash     text        PRIMARY KEY,
  username    text        NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  csrf_token  text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_expiry_idx ON console_sessions (expires_at);

-- Failed logins, for throttling (src/identity/login-throttle.ts); old rows are pruned on insert.
CREATE TABLE IF NOT EXISTS login_failures (
  username  text        NOT NULL,
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_failures_user_idx ON login_failures (username, at);

CREATE TABLE IF NOT EXISTS action_log (
  id       bigserial   PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  actor    text        NOT NULL,
  action   text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]{0,63}$'),
  subject  text        NOT NULL DEFAULT '',
  detail   jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS action_log_at_idx ON action_log (at DESC);

CREATE OR REPLACE FUNCTION action_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'action_log is append-only: % refused', TG_OP;
END
$$;

DROP TRIGGER IF EXISTS action_log_no_change ON action_log;
CREATE TRIGGER action_log_no_change BEFORE UPDATE OR DELETE ON action_log
  FOR EACH ROW EXECUTE FUNCTION action_log_append_only();
DROP TRIGGER IF EXISTS action_log_no_truncate ON action_log;
CREATE TRIGGER action_log_no_truncate BEFORE TRUNCATE ON action_log
  FOR EACH STATEMENT EXECUTE FUNCTION action_log_append_only();
