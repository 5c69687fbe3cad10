import type * as OpenTelemetrySdk from '@opentelemetry/sdk-node';
import { CliError } from './output.js';

/** What a started SDK needs at the end of a run. */
export interface CliTelemetry {
  /** Flushes what is left and stops; never throws, and gives up after `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** The variables that ask for an exporter, as the OpenTelemetry specification names them. */
const EXPORTER_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_TRACES_EXPORTER',
  'OTEL_METRICS_EXPORTER',
];

/**
 * True when the environment asks for telemetry: one of the standard exporter variables is set
 * (OTLP endpoint, or a traces/metrics exporter) and `OTEL_SDK_DISABLED` is not `true`.
 *
 * @example
 * ```ts
 * telemetryRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }); // true
 * ```
 */
export function telemetryRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return EXPORTER_VARIABLES.some((name) => (env[name] ?? '').trim() !== '');
}

/**
 * Starts the OpenTelemetry NodeSDK when the environment asks for it ({@link telemetryRequested}),
 * so that the run's spans and metrics go where the standard `OTEL_*` variables say (OTLP by
 * default; `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, ...
 * apply as usual). The SDK is an optional peer: without it, a run that asks for telemetry is
 * refused with the install command rather than running without it.
 *
 * @example
 * ```ts
 * const telemetry = await startTelemetry(process.env);
 * try {
 *   // ... run the chain
 * } finally {
 *   await telemetry?.shutdown();
 * }
 * ```
 */
export async function startTelemetry(env: NodeJS.ProcessEnv): Promise<CliTelemetry | undefined> {
  if (!telemetryRequested(env)) return undefined;
  let sdkModule: typeof OpenTelemetrySdk;
  try {
    sdkModule = await import('@opentelemetry/sdk-node');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError('OTEL_* variables ask for telemetry, which needs the OpenTelemetry SDK: npm install @opentelemetry/sdk-node (or unset them)');
    }
    throw error;
  }
  // The SDK reads every OTEL_* variable itself; only the service name gets a default of ours.
  const sdk = new sdkModule.NodeSDK((env.OTEL_SERVICE_NAME ?? '') === '' ? { serviceName: 'tokenbatch-cli' } : {});
  sdk.start();
  return {
    async shutdown(timeoutMs = 10_000): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      // A collector that is down must not hold the run's exit hostage, nor fail it.
      await Promise.race([sdk.shutdown().catch(() => {}), deadline]);
      clearTimeout(timer);
    },
  };
}
