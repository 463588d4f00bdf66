/**
 * What the console's routes work with. The composition root (./start.ts) builds it from the
 * configuration; tests build it against the local stack. Each area of the console adds the
 * services it needs here, so that a route never opens a client of its own.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { ChatModel } from '../assistant/client.js';
import type { LabelRelay } from '../cases/relay.js';
import type { LoginThrottle } from '../identity/login-throttle.js';
import type { OidcSignIn } from '../identity/oidc.js';
import type { PendingLogins } from '../identity/oidc-logins.js';
import type { SessionStore } from '../identity/sessions.js';
import type { UserStore } from '../identity/users.js';
import type { Scorer } from '../models/scorer.js';
import type { RuleLimits } from '../rules/cost.js';
import type { PgRulesetStore } from '../rules/pg-store.js';
import type { RuleApprovals } from '../rules/pg-approvals.js';

export interface ConsoleSettings {
  sessionTtlMs: number;
  secureCookies: boolean;
  reviewSlaMs: number;
  claimTtlMs: number;
  /** The engine's /metrics for the overview (console.engine_metrics_url); empty = not shown. */
  engineMetricsUrl: string;
}

export interface ConsoleDeps {
  /** The console's database: the audit trail, cases, rules, identity, the action log. */
  pool: pg.Pool;
  users: UserStore;
  sessions: SessionStore;
  throttle: LoginThrottle;
  log: Logger;
  settings: ConsoleSettings;
  /** Four-eyes change requests on rules and lists, over the rules store (its `store`): /approvals. */
  ruleApprovals: RuleApprovals;
  /** Single sign-on, when console.oidc_issuer is set (src/console/oidc.ts). */
  oidc?: ConsoleOidc;
  /** Review cases: where analysts' labels go, and the outbox relay that publishes them. */
  cases: ConsoleCases;
  /** The analyst assistant (FRAUD_ASSISTANT_* / OPENAI_*), for "Explain" on a case; absent when not configured. */
  chat?: ChatModel;
  /** The rules area: versions, drafts, validation, backtests (src/console/routes/rules.ts). */
  rules: ConsoleRules;
}

export interface ConsoleCases {
  /** kafka.topic_labels: verdict labels are queued for it. */
  labelsTopic: string;
  /** Started and stopped with the server (start.ts). */
  relay: LabelRelay;
  /** The ruleset directory whose descriptions and thresholds the assistant is given. */
  rulesDir: string;
}

export interface ConsoleRules {
  store: PgRulesetStore;
  /** The compile limits (config rules.*), as the engine and `rules validate` apply them. */
  limits: RuleLimits;
  /** The default ruleset's files, a draft's start when no version is active. */
  rulesDir: string;
  /** The history the backtests run on (console.history_file). */
  historyFile: string;
  backtestMaxDays: number;
  /** The engine's model for the backtests, loaded on first use; null: rules only (no model file). */
  scorer(): Promise<Scorer | null>;
}

export interface ConsoleOidc {
  signIn: OidcSignIn;
  pending: PendingLogins;
  /** The console's own URL as browsers reach it (console.public_url); empty = from each request's Host. */
  publicUrl: string;
}
