/**
 * The ordered feature list: the model's input order and the CSV column order.
 * Each name is defined precisely (entity, window, aggregate, delay) in ./definitions.ts.
 */
export const FEATURE_NAMES = [
  // The handbook's features (Le Borgne et al., ch. 3.3), with its names and definitions.
  'tx_amount',
  'tx_during_weekend',
  'tx_during_night',
  'customer_nb_tx_1d',
  'customer_avg_amount_1d',
  'customer_nb_tx_7d',
  'customer_avg_amount_7d',
  'customer_nb_tx_30d',
  'customer_avg_amount_30d',
  'terminal_nb_tx_1d',
  'terminal_risk_1d',
  'terminal_nb_tx_7d',
  'terminal_risk_7d',
  'terminal_nb_tx_30d',
  'terminal_risk_30d',
  // Richer features a streaming engine can keep.
  'customer_amount_over_avg_30d',
  'customer_secs_since_prev_tx',
  'customer_nb_terminals_1d',
  'customer_nb_merchants_1d',
  'customer_terminal_seen_before',
  'customer_device_seen_before',
  'terminal_nb_tx_1h',
  'card_nb_tx_1d',
  'card_nb_tx_7d',
  'tx_is_ecom',
  'terminal_last_known_fraud',
  'terminal_frauds_last3_known',
  'terminal_known_fraud_age',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** The handbook's features (Le Borgne et al., ch. 3.3): the first 15 of FEATURE_NAMES. */
export const HANDBOOK_FEATURES = FEATURE_NAMES.slice(0, FEATURE_NAMES.indexOf('terminal_risk_30d') + 1);
