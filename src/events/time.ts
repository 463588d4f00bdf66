/**
 * The one home of the engine's time constants. Event times are epoch milliseconds (UTC)
 * everywhere, so feature windows, label delays, audit partitions, rule fields (`tx.hour`,
 * `tx.weekday`) and evaluation days all count in the same units; defining those units once
 * keeps a day from meaning two things in two modules. SECONDS_PER_DAY is the simulator's
 * clock, which counts seconds from its first day.
 */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const SECONDS_PER_DAY = 86_400;
