/**
 * The console's composition root: the database pool, identity stores and services from the
 * configuration, the server listening on console.http_host:console.http_port. The schema must
 * be migrated already (`fraud-engine migrate`); the console never changes it.
 */
import type { Logger } from 'pino';
import { openAIChat } from '../assistant/client.js';
import { assistantSettings } from '../assistant/settings.js';
import { kafkaLabelPublisher } from '../cases/publisher.js';
import { LabelRelay } from '../cases/relay.js';
import { codecsFromConfig } from '../cli/clients.js';
import type { EngineConfig } from '../config/config.js';
import { LoginThrottle } from '../identity/login-throttle.js';
import { OidcSignIn } from '../identity/oidc.js';
import { PendingLogins } from '../identity/oidc-logins.js';
import { SessionStore } from '../identity/sessions.js';
import { UserStore } from '../identity/users.js';
import { engineScorerIfPresent } from '../models/onnx-scorer.js';
import type { Scorer } from '../models/scorer.js';
import { createLogger } from '../observability/logger.js';
import { ruleLimitsOf } from '../rules/cost.js';
import { RuleApprovals } from '../rules/pg-approvals.js';
import { PgRulesetStore } from '../rules/pg-store.js';
import { pgPool } from '../storage/pool.js';
import type { ConsoleDeps, ConsoleOidc, ConsoleRules } from './deps.js';
import { OIDC_ATTEMPT_MS } from './oidc.js';
import { buildConsole } from './server.js';

export interface ConsoleHandle {
  url: string;
  deps: ConsoleDeps;
  close(): Promise<void>;
}

/** ConsoleDeps from the configuration (no server): for start-up and for tests. */
export function consoleDepsOf(cfg: EngineConfig, log: Logger): ConsoleDeps {
  if (!cfg.postgres.url) throw new Error('the console needs PostgreSQL: set FRAUD_POSTGRES_URL');
  const pool = pgPool(cfg.postgres, {
    applicationName: 'fraud-console',
    max: 8,
    connectionTimeoutMillis: 5_000,
    queryTimeoutMillis: 30_000,
  });
  const c = cfg.console;
  const assistant = assistantSettings(process.env);
  const rulesStore = new PgRulesetStore(pool, { limits: ruleLimitsOf(cfg.rules) });
  return {
    pool,
    users: new UserStore(pool),
    sessions: new SessionStore(pool, c.session_ttl_minutes * 60_000),
    throttle: new LoginThrottle(pool, c.max_failed_logins),
    ruleApprovals: new RuleApprovals(rulesStore),
    log,
    settings: {
      sessionTtlMs: c.session_ttl_minutes * 60_000,
      secureCookies: c.secure_cookies,
      reviewSlaMs: c.review_sla_minutes * 60_000,
      claimTtlMs: c.claim_ttl_minutes * 60_000,
      engineMetricsUrl: c.engine_metrics_url,
    },
    oidc: oidcOf(cfg, pool),
    cases: {
      labelsTopic: cfg.kafka.topic_labels,
      relay: new LabelRelay(
        pool,
        kafkaLabelPublisher(cfg, () => codecsFromConfig(cfg), log),
        {
          topic: cfg.kafka.topic_labels,
          log,
        },
      ),
      rulesDir: cfg.rules.dir,
    },
    ...(assistant.ok ? { chat: openAIChat(assistant.settings) } : {}),
    rules: rulesOf(cfg, rulesStore),
  };
}

/** The rules area's services: the rules store (shared with the approvals), the history and model of the backtests. */
function rulesOf(cfg: EngineConfig, store: PgRulesetStore): ConsoleRules {
  let scorer: Promise<Scorer | null> | null = null;
  return {
    store,
    limits: ruleLimitsOf(cfg.rules),
    rulesDir: cfg.rules.dir,
    historyFile: cfg.console.history_file,
    backtestMaxDays: cfg.console.backtest_max_days,
    scorer: () => (scorer ??= engineScorerIfPresent(cfg.model.path)),
  };
}

/** Single sign-on when console.oidc_issuer is set; the provider is not contacted until someone uses it. */
function oidcOf(cfg: EngineConfig, pool: ConsoleDeps['pool']): ConsoleOidc | undefined {
  const c = cfg.console;
  if (!c.oidc_issuer) return undefined;
  return {
    signIn: new OidcSignIn({ issuer: c.oidc_issuer, clientId: c.oidc_client_id, clientSecret: c.oidc_client_secret }),
    pending: new PendingLogins(pool, OIDC_ATTEMPT_MS),
    publicUrl: c.public_url,
  };
}

export async function startConsole(
  cfg: EngineConfig,
  o: { log?: Logger; host?: string; port?: number; deps?: ConsoleDeps } = {},
): Promise<ConsoleHandle> {
  const log = o.log ?? createLogger(cfg.engine.log_level);
  const deps = o.deps ?? consoleDepsOf(cfg, log);
  const { rows } = await deps.pool.query<{ t: string | null }>(`SELECT to_regclass('action_log')::text AS t`);
  if (!rows[0]?.t) {
    await deps.pool.end();
    throw new Error('the database is not migrated: run `fraud-engine migrate` first');
  }
  const app = await buildConsole(deps);
  // Labels of verdicts given while Kafka was away (or by a console that stopped) go out now.
  deps.cases.relay.start();
  const host = o.host ?? cfg.console.http_host;
  try {
    await app.listen({ host, port: o.port ?? cfg.console.http_port });
  } catch (err) {
    // A taken port: nothing stays open behind the error, so the caller may try another.
    await app.close().catch(() => undefined);
    if (!o.deps) await deps.pool.end().catch(() => undefined);
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.console.http_port;
  const url = `http://${host}:${port}`;
  log.info({ url }, 'console listening');
  return {
    url,
    deps,
    async close() {
      await app.close();
      await deps.cases.relay.stop();
      await deps.pool.end();
    },
  };
}
