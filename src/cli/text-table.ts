/** Plain-text tables for the history commands (`runs`, `debug`, `rows`): aligned columns, no colour. */

/** One column: its header and whether its cells align right (numbers). */
export interface TextColumn {
  header: string;
  right?: boolean;
}

/**
 * Lays out `rows` under `columns`, each line indented by `indent` spaces, columns two spaces
 * apart; the last column is never padded (so long text, e.g. an error, may run on).
 * @returns the lines, header first, without trailing newlines
 */
export function textTable(columns: readonly TextColumn[], rows: ReadonlyArray<readonly string[]>, indent = 2): string[] {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    ' '.repeat(indent) +
    cells
      .map((cell, i) => {
        if (i === cells.length - 1 && !columns[i]!.right) return cell;
        return columns[i]!.right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)];
}
