import type { AuthorizationEvent, LabelEvent } from '../events/types.js';

/**
 * A feature vector: one value per feature name of src/features/definitions.ts, in that order.
 * `null` means missing (no history, unknown field): the model sees NaN, CSV an empty cell.
 */
export type FeatureVector = (number | null)[];

/**
 * The one contract between the pipeline and feature state. Two implementations give
 * identical results: RedisFeatureStore (run) and MemoryFeatureStore (replay, tests).
 *
 * - `enrich` applies a batch of authorizations in the given order (per entity, event time
 *   order is the caller's job: Kafka partitions are keyed by card) and returns the feature
 *   vector of each, computed at its event_time with the event itself included. It is
 *   idempotent by auth_id: an authorization seen before is not counted again and gets the
 *   same vector as long as no later label changed the inputs.
 *   The Redis store does this in one round trip per batch.
 * - `applyLabels` records fraud verdicts from the moment they arrive (point-in-time correct):
 *   features computed before the call never see them, features computed after do.
 */
export interface FeatureStore {
  enrich(events: readonly AuthorizationEvent[]): Promise<FeatureVector[]>;
  applyLabels(labels: readonly LabelEvent[]): Promise<void>;
  close(): Promise<void>;
}
