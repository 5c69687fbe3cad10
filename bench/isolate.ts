/**
 * Runs one bench scenario so that its failure stays its own: a throw or rejection, and also what
 * would otherwise kill the process (an unhandled rejection, an `'error'` event nobody listens to,
 * such as an ECONNRESET from a loopback socket), fail this scenario only.
 */
export type IsolatedOutcome<V> = { ok: true; result: V } | { ok: false; error: string };

const describe = (error: unknown): string => (error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error));

/**
 * Run `work`, catching what it throws and what escapes it into the process while it runs. Errors
 * that escape after it settled (a socket closing late) are logged and ignored.
 *
 * @example
 * ```ts
 * const outcome = await runIsolated('demo', async () => 42);
 * ```
 */
export async function runIsolated<V>(name: string, work: () => Promise<V>): Promise<IsolatedOutcome<V>> {
  let escape: (error: unknown) => void = () => {};
  const escaped = new Promise<never>((_, reject) => {
    escape = reject;
  });
  const onEscape = (error: unknown) => escape(error);
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  try {
    const result = await Promise.race([work(), escaped]);
    return { ok: true, result };
  } catch (error) {
    return { ok: false, error: describe(error) };
  } finally {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
    // A late error from the failed scenario must not take the next one with it.
    escaped.catch(() => {});
    installLateGuard(name);
  }
}

let lateGuard: ((error: unknown) => void) | undefined;
let lastScenario = '';

function installLateGuard(name: string): void {
  lastScenario = name;
  if (lateGuard) return;
  lateGuard = (error) => console.error(`(an error escaped after scenario ${lastScenario} settled, ignored: ${describe(error).split('\n')[0]})`);
  process.on('uncaughtException', lateGuard);
  process.on('unhandledRejection', lateGuard);
}
