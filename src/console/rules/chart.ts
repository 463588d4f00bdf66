/**
 * Server-rendered bar charts of a backtest (inline SVG: no script, no CDN; the CSP forbids style
 * attributes, so colours come from classes in console.css). Each row shows the baseline and the
 * proposal side by side, with the numbers written beside the bars.
 */
import { html, type Html } from '../html.js';

export interface BarRow {
  label: string;
  base: number;
  new: number;
}

const WIDTH = 640;
const LABEL = 190;
const ROW = 36;
const BAR = 13;
const TOP = 28;

/** A grouped horizontal bar chart titled `title` (also its accessible name), one row per entry. */
export function barChart(id: string, title: string, rows: readonly BarRow[]): Html {
  const max = Math.max(1, ...rows.flatMap((r) => [r.base, r.new]));
  const span = WIDTH - LABEL - 70;
  const w = (n: number) => Math.max(n > 0 ? 1 : 0, Math.round((n / max) * span));
  const height = TOP + rows.length * ROW + 8;
  return html`<svg
    class="chart"
    viewBox="0 0 ${WIDTH} ${height}"
    width="${WIDTH}"
    height="${height}"
    role="img"
    aria-labelledby="${id}-title"
  >
    <title id="${id}-title">${title}: ${rows.map((r) => `${r.label} ${r.base} → ${r.new}`).join('; ')}</title>
    <rect class="bar-base" x="${LABEL}" y="6" width="12" height="12"></rect>
    <text x="${LABEL + 16}" y="16">baseline (active)</text>
    <rect class="bar-new" x="${LABEL + 140}" y="6" width="12" height="12"></rect>
    <text x="${LABEL + 156}" y="16">proposed (draft)</text>
    ${rows.map((r, i) => {
      const y = TOP + i * ROW;
      return html`<g>
        <text x="${LABEL - 8}" y="${y + BAR + 4}" text-anchor="end">${r.label}</text>
        <rect class="bar-base" x="${LABEL}" y="${y}" width="${w(r.base)}" height="${BAR}"></rect>
        <text x="${LABEL + w(r.base) + 4}" y="${y + BAR - 2}">${r.base}</text>
        <rect class="bar-new" x="${LABEL}" y="${y + BAR + 2}" width="${w(r.new)}" height="${BAR}"></rect>
        <text x="${LABEL + w(r.new) + 4}" y="${y + 2 * BAR}">${r.new}</text>
      </g>`;
    })}
  </svg>`;
}
