/**
 * Text tables for people (the CLI's listings and reports): columns separated by two spaces and
 * padded to the widest cell; the first `left` columns aligned left, the others right (numbers);
 * trailing spaces trimmed.
 */
export function table(rows: readonly (readonly string[])[], left = Infinity): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
