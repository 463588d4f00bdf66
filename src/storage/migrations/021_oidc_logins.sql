-- 021_oidc_logins: the console's single sign-on attempts in flight (src/identity/oidc-logins.ts).
--
-- Between "Sign in with <issuer>" and the provider's callback the console keeps the attempt's
-- state, nonce and PKCE code verifier here, keyed by the SHA-256 of a random value held in a
-- short-lived HttpOnly cookie: any console instance can finish an attempt another one began,
-- a copy of the table does not complete anyone's sign-in, and a row is taken (deleted) once.

CREATE TABLE IF NOT EXISTS console_oidc_logins (
  id_hash        text        PRIMARY KEY,
  state          text        NOT NULL,
  nonce          text        NOT NULL,
  code_verifier  text        NOT NULL,
  next_path      text        NOT NULL DEFAULT '/',
  expires_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS console_oidc_logins_expiry_idx ON console_oidc_logins (expires_at);
