/**
 * The engine's models while it runs: per role (champion, challenger), the version approved in
 * the registry (./pg-model-registry.ts), else the configuration's file (model.path,
 * model.challenger_path) while the registry has never had one for that role.
 *
 * - An approval is taken up from its NOTIFY (fraud_models) within milliseconds; a poll every
 *   `pollIntervalMs` is the backstop. The new file is read, hashed and compared with the approved
 *   row, loaded from those bytes, checked (features, version, a trial run) and handed to `build`,
 *   all off the decision path; only then does `current()` return the new set, which the engine
 *   reads once at the start of each batch: the swap falls between two batches.
 * - A file that fails (unreadable, other bytes than approved, not a model of the engine): the
 *   running model stays, the failure is logged once and counted
 *   (fraud_model_reload_failures_total{role,reason}); it is tried again at each check.
 * - PostgreSQL unreachable: the models in force stay (reason `registry`). At start, the
 *   configuration's files decide until the registry answers.
 * - The scorer replaced is released after `releaseDelayMs`: a batch in flight may still run it.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { EngineConfig } from '../../config/config.js';
import type { Gauge } from 'prom-client';
import { createChallengerMetrics, setInfo, type Metrics } from '../../observability/metrics.js';
import { listenWithRetry, type Listener } from '../../storage/listen.js';
import { pgPool } from '../../storage/pool.js';
import { loadEngineScorer, type OnnxScorer } from '../onnx-scorer.js';
import { ModelFileError, loadVerifiedModel } from './model-file.js';
import { MODELS_NOTIFY_CHANNEL, registryState, type ModelRole, type RegistryState } from './pg-model-registry.js';
import { CoalescedRefresh } from '../../storage/coalesced-refresh.js';

export interface LoadedModel {
  scorer: OnnxScorer;
  /** registry: an approved version (its row id); config: model.path / model.challenger_path. */
  origin: 'registry' | 'config';
  id: number | null;
}

export interface Models {
  champion: LoadedModel;
  challenger: LoadedModel | null;
}

export interface ModelSourceOptions<S> {
  /** postgres.url empty: the configuration's files, never reloaded. */
  postgres: EngineConfig['postgres'];
  /** The configuration's files (model.path, model.challenger_path; empty: no challenger). */
  config: { champion: string; challenger: string };
  /** The backstop poll (0: LISTEN alone). */
  pollIntervalMs: number;
  /** LISTEN (default true); false behind a transaction-mode pooler, polling only. */
  listen?: boolean;
  log: Logger;
  metrics?: Metrics;
  /**
   * What the engine reads, built from the models off the decision path (challenger metrics, the
   * drift monitor of the champion); `previous` is the set it replaces (null at start).
   */
  build: (models: Models, previous: { models: Models; built: S } | null) => Promise<S>;
  /** Default 30 s. */
  releaseDelayMs?: number;
}

/** What one role should run: a registry row, a configuration file, or nothing (a retired challenger). */
type Want =
  | { key: string; origin: 'registry'; id: number; path: string; sha256: string; version: string }
  | { key: string; origin: 'config'; path: string }
  | { key: 'none'; origin: 'none' };

const keyOf = (m: LoadedModel | null): string =>
  !m ? 'none' : m.origin === 'registry' ? `registry:${m.id}` : `config:${m.scorer.modelPath}`;

/** What each role should run given the registry's state (null: the registry could not be read). */
export function wantedModels(
  state: readonly RegistryState[] | null,
  config: { champion: string; challenger: string },
): Record<ModelRole, Want> {
  const want = (role: ModelRole): Want => {
    const s = state?.find((x) => x.role === role);
    if (s?.active)
      return {
        key: `registry:${s.active.id}`,
        origin: 'registry',
        id: s.active.id,
        path: s.active.onnx_path,
        sha256: s.active.sha256,
        version: s.active.version,
      };
    // A champion always runs: the configuration's while the registry has none active.
    const path = config[role].trim();
    if ((s?.governed && role === 'challenger') || path === '') return { key: 'none', origin: 'none' };
    return { key: `config:${path}`, origin: 'config', path };
  };
  return { champion: want('champion'), challenger: want('challenger') };
}

export class ModelSource<S> {
  private models!: Models;
  private built!: S;
  private pool: pg.Pool | null = null;
  private listener: Listener | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly refresher = new CoalescedRefresh(
    () => this.refreshOnce().catch((err: unknown) => this.o.log.error({ err }, 'model refresh failed')),
    () => this.stopped,
  );
  private stopped = false;
  /** The last failure logged, per role (key + reason): logged once until it changes. */
  private readonly failing = new Map<ModelRole, string>();
  private registryDown = false;
  private readonly releases = new Set<NodeJS.Timeout>();

  private constructor(private readonly o: ModelSourceOptions<S>) {}

  /**
   * Loads the models in force (the registry's approved versions when it answers, else the
   * configuration's files), builds the engine's set, LISTENs and polls. Fails only when no
   * champion can be loaded at all, or when the configuration's challenger cannot (a bad
   * configuration, named).
   */
  static async start<S>(o: ModelSourceOptions<S>): Promise<ModelSource<S>> {
    const src = new ModelSource(o);
    let state: RegistryState[] | null = null;
    if (o.postgres.url) {
      src.pool = pgPool(o.postgres, {
        applicationName: 'fraud-engine-models-source',
        max: 1,
        connectionTimeoutMillis: 3_000,
        queryTimeoutMillis: 5_000,
      });
      src.pool.on('error', (err) => o.log.warn({ err }, 'postgres pool error (models)'));
      state = await src.readState();
    }
    const want = wantedModels(state, o.config);
    const champion =
      (await src.tryLoad('champion', want.champion)) ??
      (await src.loadConfig('champion', wantedModels(null, o.config).champion));
    if (!champion) throw new Error('no champion model: model.path is empty');
    const challenger = await src.tryLoad('challenger', want.challenger);
    src.models = { champion, challenger };
    src.built = await o.build(src.models, null);
    src.publishInfo();
    if (o.postgres.url) {
      if (o.listen !== false)
        src.listener = await listenWithRetry(o.postgres, {
          channel: MODELS_NOTIFY_CHANNEL,
          applicationName: 'fraud-engine-models-listen',
          log: o.log,
          onNotify: () => void src.refresh(),
        });
      if (o.pollIntervalMs > 0) {
        src.timer = setInterval(() => void src.refresh(), Math.max(50, o.pollIntervalMs));
        src.timer.unref();
      }
    }
    return src;
  }

  /** The set in force (read once per batch by the engine). */
  current(): S {
    return this.built;
  }

  /** The models in force (versions, where they come from). */
  get loaded(): Models {
    return this.models;
  }

  /** Checks the registry now (also run by the poll and on every notification); never throws. */
  refresh(): Promise<void> {
    return this.refresher.run();
  }

  private async readState(): Promise<RegistryState[] | null> {
    try {
      const s = await registryState(this.pool!);
      if (this.registryDown) this.o.log.info('model registry available again');
      this.registryDown = false;
      return s;
    } catch (err) {
      this.o.metrics?.modelReloadFailures.inc({ role: 'all', reason: 'registry' });
      if (!this.registryDown)
        this.o.log.warn(
          { err, code: (err as { code?: string }).code },
          'model registry unreadable (PostgreSQL down, not migrated, or the engine role not granted model_versions: `fraud-engine migrate --engine-role`): keeping the models in force',
        );
      this.registryDown = true;
      return null;
    }
  }

  private async refreshOnce(): Promise<void> {
    if (this.stopped || !this.pool) return;
    const state = await this.readState();
    if (!state) return;
    const want = wantedModels(state, this.o.config);
    const next: Models = { ...this.models };
    let changed = false;
    for (const role of ['champion', 'challenger'] as const) {
      const w = want[role];
      if (w.key === keyOf(this.models[role])) {
        this.failing.delete(role);
        continue;
      }
      if (w.origin === 'none') {
        if (role === 'challenger') {
          next.challenger = null;
          changed = true;
        }
        continue;
      }
      const m = await this.tryLoad(role, w);
      if (m) {
        next[role] = m;
        changed = true;
      }
    }
    if (!changed || this.stopped) return;
    const previous = { models: this.models, built: this.built };
    let built: S;
    try {
      built = await this.o.build(next, previous);
    } catch (err) {
      this.o.log.error({ err }, 'model set could not be built: keeping the models in force');
      for (const role of ['champion', 'challenger'] as const)
        if (next[role] && next[role] !== this.models[role]) this.releaseLater(next[role]!.scorer, 0);
      return;
    }
    this.models = next;
    this.built = built;
    for (const role of ['champion', 'challenger'] as const) {
      const before = previous.models[role];
      if (before === next[role]) continue;
      this.o.metrics?.modelReloads.inc({ role });
      this.o.log.info(
        {
          role,
          version: next[role]?.scorer.version ?? null,
          previous: before?.scorer.version ?? null,
          source: next[role]?.origin ?? null,
        },
        next[role] ? 'model loaded' : 'model retired',
      );
      if (before) this.releaseLater(before.scorer, this.o.releaseDelayMs ?? 30_000);
    }
    this.publishInfo();
  }

  /** The model `w` names, or null (logged once, counted) when it cannot be loaded; a configuration file is loaded as at start. */
  private async tryLoad(role: ModelRole, w: Want): Promise<LoadedModel | null> {
    if (w.origin === 'none') return null;
    if (w.origin === 'config') return this.loadConfig(role, w);
    try {
      const { scorer } = await loadVerifiedModel(w.path, { sha256: w.sha256, version: w.version });
      this.failing.delete(role);
      return { scorer, origin: 'registry', id: w.id };
    } catch (err) {
      const reason = err instanceof ModelFileError ? err.reason : 'load';
      this.o.metrics?.modelReloadFailures.inc({ role, reason });
      const seen = `${w.key}:${reason}`;
      if (this.failing.get(role) !== seen) {
        this.failing.set(role, seen);
        this.o.log.error(
          {
            role,
            version: w.version,
            path: w.path,
            reason,
            err: (err as Error).message,
            running: this.models?.[role]?.scorer.version ?? null,
          },
          `approved ${role} model refused: ${
            this.models
              ? 'keeping the model in force'
              : role === 'champion'
                ? 'starting with model.path'
                : 'starting without'
          }`,
        );
      }
      return null;
    }
  }

  /** The configuration's file, as the engine always loaded it: a failure is a bad configuration, named. */
  private async loadConfig(role: ModelRole, w: Want): Promise<LoadedModel | null> {
    if (w.origin !== 'config') return null;
    const key = role === 'champion' ? 'model.path' : 'model.challenger_path';
    try {
      return { scorer: await loadEngineScorer(w.path), origin: 'config', id: null };
    } catch (err) {
      throw new Error(`${key}: cannot load the ${role} model ${w.path}: ${(err as Error).message}`);
    }
  }

  private publishInfo(): void {
    const m = this.o.metrics;
    if (!m) return;
    setInfo(m.modelInfo, this.models.champion.scorer.version);
    // The challenger's families exist once one was loaded (observability/metrics.ts).
    if (this.models.challenger)
      setInfo(createChallengerMetrics(m.registry).info, this.models.challenger.scorer.version);
    else (m.registry.getSingleMetric('fraud_challenger_info') as Gauge | undefined)?.reset();
  }

  private releaseLater(scorer: OnnxScorer, ms: number): void {
    const t = setTimeout(() => {
      this.releases.delete(t);
      void scorer.close().catch(() => undefined);
    }, ms);
    t.unref();
    this.releases.add(t);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.refresher.settled();
    await this.listener?.stop();
    await this.pool?.end().catch(() => undefined);
    for (const t of this.releases) clearTimeout(t);
    this.releases.clear();
  }
}
