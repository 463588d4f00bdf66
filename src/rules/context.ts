/**
 * What a rule sees, as typed CEL values: `tx` (the authorization), `f` (the features), `score`
 * and `lists`. `tx`, `f` and `lists` are declared as CEL message types with one field per
 * name, so that a misspelt field, feature or list is refused when the ruleset compiles
 * (instead of silently never hitting), and operators are resolved at compile time.
 *
 * The values are views: building one per event is one allocation, and a field is computed
 * only when a rule reads it (the hot path, see scripts/bench-rules.mjs).
 */
import type { AuthorizationEvent } from '../events/types.js';
import { MINOR_PER_MAJOR } from '../events/types.js';
import { DAY_MS, HOUR_MS } from '../events/time.js';
import { FEATURE_NAMES } from '../features/names.js';
import { LIST_NAMES, type ListName, type Lists } from './types.js';

/** BigInts of small integers, so that reading `tx.hour` allocates nothing. */
const SMALL_INTS: readonly bigint[] = Array.from({ length: 25 }, (_, i) => BigInt(i));

/** CEL field types of `tx`. */
export const TX_FIELDS = {
  auth_id: 'string',
  card_token: 'string',
  customer_id: 'string',
  terminal_id: 'string',
  merchant_id: 'string',
  mcc: 'string',
  amount: 'double',
  amount_minor: 'int',
  currency: 'string',
  channel: 'string',
  device_id: 'string',
  ip: 'string',
  email_hash: 'string',
  country: 'string',
  hour: 'int',
  weekday: 'int',
} as const;

/**
 * The CEL `tx`: nulls read as empty strings so that `tx.device_id in lists.x` is simply
 * false; amounts in major units (`amount`, double) and minor units (`amount_minor`, int);
 * hour (0-23) and weekday (1 = Monday .. 7 = Sunday) of the event time in UTC.
 */
export class RuleTx {
  constructor(private readonly e: AuthorizationEvent) {}
  get auth_id(): string {
    return this.e.auth_id;
  }
  get card_token(): string {
    return this.e.card_token;
  }
  get customer_id(): string {
    return this.e.customer_id;
  }
  get terminal_id(): string {
    return this.e.terminal_id;
  }
  get merchant_id(): string {
    return this.e.merchant_id ?? '';
  }
  get mcc(): string {
    return this.e.mcc ?? '';
  }
  get amount(): number {
    return this.e.amount_minor / MINOR_PER_MAJOR;
  }
  get amount_minor(): bigint {
    return BigInt(this.e.amount_minor);
  }
  get currency(): string {
    return this.e.currency;
  }
  get channel(): string {
    return this.e.channel;
  }
  get device_id(): string {
    return this.e.device_id ?? '';
  }
  get ip(): string {
    return this.e.ip ?? '';
  }
  get email_hash(): string {
    return this.e.email_hash ?? '';
  }
  get country(): string {
    return this.e.country ?? '';
  }
  get hour(): bigint {
    const h = Math.floor(this.e.event_time / HOUR_MS) % 24;
    return SMALL_INTS[h < 0 ? h + 24 : h]!;
  }
  get weekday(): bigint {
    // 1970-01-01 was a Thursday (ISO weekday 4).
    const d = (Math.floor(this.e.event_time / DAY_MS) + 3) % 7;
    return SMALL_INTS[(d < 0 ? d + 7 : d) + 1]!;
  }
}

/**
 * The CEL `f`: one double field per feature of src/features/names.ts, read from the feature
 * vector in that order. A missing value (null, NaN, ±Infinity) is absent: reading it is a
 * run-time error (the rule does not hit), `has(f.name)` is false.
 */
export class RuleFeatures {
  constructor(readonly __vector: readonly (number | null)[]) {}
}
FEATURE_NAMES.forEach((name, i) => {
  Object.defineProperty(RuleFeatures.prototype, name, {
    get(this: RuleFeatures): number | undefined {
      const v = this.__vector[i];
      return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    },
  });
});

export const FEATURE_FIELDS: Readonly<Record<string, 'double'>> = Object.fromEntries(
  FEATURE_NAMES.map((n) => [n, 'double']),
);

const FEATURE_INDEX: ReadonlyMap<string, number> = new Map(FEATURE_NAMES.map((n, i) => [n, i]));

/** Features given in another order (or a subset, in tests) → the view in FEATURE_NAMES order. */
export function featuresOf(names: readonly string[], vector: readonly (number | null)[]): RuleFeatures {
  if (names === FEATURE_NAMES) return new RuleFeatures(vector);
  const aligned: (number | null)[] = new Array<number | null>(FEATURE_NAMES.length).fill(null);
  for (let i = 0; i < names.length; i++) {
    const at = FEATURE_INDEX.get(names[i]!);
    if (at !== undefined) aligned[at] = vector[i] ?? null;
  }
  return new RuleFeatures(aligned);
}

/** The CEL `lists`: one `map<string, bool>` per list name (`x in lists.name` is a key lookup). */
export class RuleLists implements Lists {
  declare readonly block_card: ReadonlyMap<string, true>;
  declare readonly allow_card: ReadonlyMap<string, true>;
  declare readonly block_customer: ReadonlyMap<string, true>;
  declare readonly allow_customer: ReadonlyMap<string, true>;
  declare readonly block_device: ReadonlyMap<string, true>;
  declare readonly block_ip: ReadonlyMap<string, true>;
  declare readonly block_email: ReadonlyMap<string, true>;
  declare readonly block_terminal: ReadonlyMap<string, true>;
  constructor(values: Partial<Record<ListName, Iterable<string>>> = {}) {
    const self = this as unknown as Record<ListName, ReadonlyMap<string, true>>;
    for (const name of LIST_NAMES)
      self[name] = new Map([...(values[name] ?? [])].map((v): [string, true] => [v, true]));
  }
  /** Accepts any Lists-shaped value (a plain object in tests) as a RuleLists. */
  static of(lists: Lists): RuleLists {
    if (lists instanceof RuleLists) return lists;
    const out = new RuleLists();
    const self = out as unknown as Record<ListName, ReadonlyMap<string, true>>;
    for (const name of LIST_NAMES) self[name] = lists[name] ?? new Map();
    return out;
  }
}

export const LIST_FIELDS: Readonly<Record<string, 'map<string, bool>'>> = Object.fromEntries(
  LIST_NAMES.map((n) => [n, 'map<string, bool>']),
);
