/**
 * Event types shared by every stage. Field names follow the Avro schemas in
 * config/schemas/ exactly, so decoded records are used as they are (no mapping on the hot path).
 * Times are epoch milliseconds, UTC.
 */

export type Channel = 'POS' | 'ECOM' | 'ATM' | 'MOTO' | 'UNKNOWN';

export interface AuthorizationEvent {
  auth_id: string;
  event_time: number;
  card_token: string;
  customer_id: string;
  terminal_id: string;
  merchant_id: string | null;
  mcc: string | null;
  /** Minor units (cents). */
  amount_minor: number;
  currency: string;
  channel: Channel;
  device_id: string | null;
  ip: string | null;
  email_hash: string | null;
  country: string | null;
  description: string | null;
}

export interface LabelEvent {
  auth_id: string;
  card_token: string;
  customer_id: string;
  terminal_id: string;
  /** event_time of the labelled authorization. */
  tx_time: number;
  /** When the label became known (chargeback / verdict time). */
  label_time: number;
  fraud: boolean;
  source: string;
}

export type Outcome = 'APPROVE' | 'REVIEW' | 'DECLINE';
export type RuleMode = 'ACTIVE' | 'SHADOW';

export interface RuleHit {
  rule_id: string;
  action: string;
  mode: RuleMode;
}

/**
 * The authorization's own fields a decision carries for the people who review it (the audit
 * trail, the console's cases, the analysts' labels). Every one is PAN-checked at validation
 * (pipelines/decision/validate.ts PAN_CHECKED_FIELDS); the free-text description is not carried.
 */
export type DecisionContext = Pick<
  AuthorizationEvent,
  'customer_id' | 'terminal_id' | 'merchant_id' | 'mcc' | 'amount_minor' | 'currency' | 'country' | 'device_id'
> & { channel: string }; // the decision schema carries the channel as text, not as the enum

/**
 * One of the model's top factors for a decision: a feature, its input value (null: missing) and
 * its exact contribution to the model's raw score (log-odds; TreeSHAP, src/models/explain/).
 */
export interface DecisionFactor {
  feature: string;
  value: number | null;
  contribution: number;
}

export interface Decision {
  auth_id: string;
  card_token: string;
  outcome: Outcome;
  score: number | null;
  reasons: string[];
  rule_hits: RuleHit[];
  tags: string[];
  model_version: string;
  ruleset_version: string;
  degraded: string[];
  features: Record<string, number | null>;
  event_time: number;
  decided_time: number;
  engine_latency_ms: number;
  /** Optional in the schema (added later, BACKWARD): null in decisions written before it. */
  context?: DecisionContext | null;
  /**
   * The model's top factors, largest |contribution| first (optional, added later, BACKWARD):
   * null when not computed (an APPROVE, no model score, a model without a trees file) and in
   * decisions written before the field.
   */
  factors?: DecisionFactor[] | null;
  /**
   * The challenger model's score of the same features (optional, added later, BACKWARD): null
   * when no challenger is configured, when it failed or timed out, and in older decisions. It
   * never changes the outcome.
   */
  challenger_score?: number | null;
  /** The challenger's model version; null when none is configured and in older decisions. */
  challenger_version?: string | null;
}

export const CHANNELS: readonly Channel[] = ['POS', 'ECOM', 'ATM', 'MOTO', 'UNKNOWN'];

/** Minor units per major unit. Every currency the simulator emits has exponent 2. */
export const MINOR_PER_MAJOR = 100;
