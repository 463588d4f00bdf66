/**
 * Lengths an authorization's strings may have: validation refuses longer ones
 * (src/pipelines/decision/validate.ts), and the rules' compile-time cost bound
 * (src/rules/cost.ts) relies on them.
 */
/** Identifiers and short fields: auth_id, card_token, customer_id, terminal_id, merchant_id, mcc, device_id, ip, email_hash, country. */
export const MAX_ID_LENGTH = 128;
/** Free text: description. */
export const MAX_TEXT_LENGTH = 1024;
