/** Small formatters shared by the cases and decisions pages. */
import { html, type Html } from '../html.js';

/** `2026-12-01 09:48:12Z`: ISO time to the second, readable. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '-';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** `3 d 4 h`, `2 h 5 min`, `45 s`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function money(minor: number | null | undefined, currency: string | null | undefined): string {
  if (minor === null || minor === undefined) return '-';
  return `${(minor / 100).toFixed(2)} ${currency ?? ''}`.trim();
}

export function score(s: number | null | undefined): string {
  return s === null || s === undefined ? '-' : s.toFixed(3);
}

export function num(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

export function outcomeBadge(outcome: string): Html {
  return html`<span class="badge ${outcome}">${outcome}</span>`;
}

const VERDICT_CLASS: Record<string, string> = { fraud: 'bad', legitimate: 'ok', escalate: 'warn' };
export function verdictBadge(v: string | null | undefined): Html | string {
  return v ? html`<span class="badge ${VERDICT_CLASS[v] ?? ''}">${v}</span>` : '';
}
