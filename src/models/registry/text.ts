/** What `fraud-engine models …` prints: the registry's versions, its open requests, what runs per role. */
import type { ModelRequest, ModelVersionRow, RegistryState } from './pg-model-registry.js';

const day = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : '-');

/** The listing: per role what engines run, then the open requests, then every version newest first. */
export function modelsText(
  rows: readonly ModelVersionRow[],
  pending: readonly ModelRequest[],
  state: readonly RegistryState[],
  config: { champion: string; challenger: string },
): string {
  const lines: string[] = ['in force (engines take an approval up within a second):'];
  for (const s of state) {
    const conf = config[s.role].trim();
    const what = s.active
      ? `${s.active.version} (registry, ${s.active.onnx_path})`
      : s.governed
        ? 'none (retired in the registry)'
        : conf
          ? `the configuration's file: ${conf}`
          : 'none';
    lines.push(`  ${s.role.padEnd(10)} ${what}`);
  }
  lines.push('', pending.length ? 'open requests:' : 'no open requests');
  for (const p of pending) lines.push(`  ${requestLine(p)}`);
  lines.push('', rows.length ? 'versions (newest first):' : 'no model version published yet');
  for (const r of rows) {
    const who = r.approved_by ? `, approved by ${r.approved_by} ${day(r.approved_at)}` : '';
    lines.push(
      `  ${r.version.padEnd(28)} ${r.role.padEnd(10)} ${r.state.padEnd(8)} by ${r.author} ${day(r.created_at)}${who}  sha256 ${r.sha256.slice(0, 12)}…  ${r.comment}`,
    );
  }
  return lines.join('\n');
}

export function requestLine(p: ModelRequest): string {
  const what = p.kind === 'publish' ? `${p.version} as ${p.role}` : `retire ${p.role} ${p.version}`;
  return `#${p.id} ${what}, requested by ${p.requested_by} ${day(p.requested_at)} (in force: ${p.base_version ?? 'none'})${p.comment ? `: ${p.comment}` : ''}`;
}
