/**
 * The bench harness: each scenario runs its contenders side by side in this one process and
 * returns a table; ratios are against the scenario's baseline row. `npm run bench` prints tables,
 * `npm run bench -- --json` prints one JSON document, `--only NAME` runs one scenario, `--quick`
 * shrinks inputs (the test suite uses it to keep the bench from rotting).
 */

export type Cell = number | string | boolean | null;

export interface BenchRow {
  /** The contender. */
  name: string;
  /** Measured figures, in the order they should print. */
  [metric: string]: Cell;
}

export interface BenchResult {
  scenario: string;
  title: string;
  /** Rows; the one named by `baseline` is the reference for ratio columns. */
  rows: BenchRow[];
  /** Free-form lines printed under the table: corpus size, bounds, caveats. */
  notes?: string[];
  /** The figures the project holds itself to, each with its goal: `--json` collects them so a regression shows. */
  ratios?: Ratio[];
}

/**
 * One tracked figure. `goal` is the value it must reach: at least `goal` when `better` is
 * `'higher'` (the default), at most `goal` when `'lower'`.
 */
export interface Ratio {
  /** Stable id, `scenario.figure`. */
  id: string;
  label: string;
  value: number;
  goal: number;
  better?: 'higher' | 'lower';
}

/** Whether a ratio meets its goal. */
export function meetsGoal(ratio: Ratio): boolean {
  return (ratio.better ?? 'higher') === 'higher' ? ratio.value >= ratio.goal : ratio.value <= ratio.goal;
}

export interface BenchOptions {
  quick: boolean;
}

export interface Scenario {
  name: string;
  run(options: BenchOptions): Promise<BenchResult>;
}

/** Render a result as an aligned text table. */
export function formatResult(result: BenchResult): string {
  const columns = ['name', ...new Set(result.rows.flatMap((row) => Object.keys(row).filter((key) => key !== 'name')))];
  const cells = result.rows.map((row) => columns.map((column) => formatCell(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (values: string[]) => values.map((value, i) => (i === 0 ? value.padEnd(widths[i] as number) : value.padStart(widths[i] as number))).join('  ');
  const out = [`## ${result.title} (${result.scenario})`, line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  for (const note of result.notes ?? []) out.push(`  ${note}`);
  for (const ratio of result.ratios ?? []) {
    out.push(
      `  ratio ${ratio.id}: ${formatCell(ratio.value)} (goal ${(ratio.better ?? 'higher') === 'higher' ? '≥' : '≤'} ${ratio.goal}: ${meetsGoal(ratio) ? 'met' : 'NOT met'})`,
    );
  }
  return out.join('\n');
}

function formatCell(value: Cell | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    const abs = Math.abs(value);
    return value.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
  }
  return String(value);
}

/** Time a synchronous function: the best of `repeats` runs, in milliseconds. */
export function bestOf(repeats: number, work: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    work();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Time an async function: the best of `repeats` runs, in milliseconds. */
export async function bestOfAsync(repeats: number, work: () => Promise<void>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await work();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}
