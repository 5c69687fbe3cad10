/**
 * Rejects option keys that `owner` does not know, naming the key and the nearest known one:
 * `openAIBatchJob: unknown option 'pollMs' (did you mean 'pollIntervalMs'?)`. A misspelt option
 * silently falling back to its default is worse than an error at creation.
 */
export function rejectUnknownKeys(options: object, known: readonly string[], owner: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const nearest = closest(key, known);
    throw new TypeError(`${owner}: unknown option '${key}'${nearest === undefined ? '' : ` (did you mean '${nearest}'?)`}`);
  }
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    const prefix = candidate.toLowerCase().startsWith(key.toLowerCase()) || key.toLowerCase().startsWith(candidate.toLowerCase());
    const score = prefix ? Math.min(distance, 1) : distance;
    if (score < bestDistance) {
      best = candidate;
      bestDistance = score;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
