/**
 * OpenTelemetry with tokenbatch: the NodeSDK exports tokenbatch's batch spans and instruments.
 * Run it with `npx tsx examples/otel.ts`: it classifies eight support tickets on the embedded
 * simulated model (with injected transient faults, so some attempts fail and are retried), prints
 * the spans and metrics with the console exporters, shuts the SDK down and ends by itself.
 *
 * To send them to a collector instead, set `OTEL_EXPORTER_OTLP_ENDPOINT` (for instance
 * `http://localhost:4318`): the NodeSDK then takes its exporters from the standard OTEL_*
 * variables (OTLP by default). Nothing is sent anywhere unless you set it.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { metrics as sdkMetrics, NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { interval, Subject, take } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, simulatedModel, type BatchHandler } from 'tokenbatch';

const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
const sdk = new NodeSDK(
  otlp
    ? { serviceName: 'tokenbatch-example' }
    : {
        serviceName: 'tokenbatch-example',
        traceExporter: new tracing.ConsoleSpanExporter(),
        // One export at shutdown (the interval is longer than the run), so the output stays short.
        metricReader: new sdkMetrics.PeriodicExportingMetricReader({ exporter: new sdkMetrics.ConsoleMetricExporter(), exportIntervalMillis: 60_000 }),
        logRecordProcessors: [],
        // Resource detection (host, process) would add a screenful to every span printed.
        autoDetectResources: false,
      },
);
// Before the chain is subscribed: tokenbatch looks the global tracer and meter up at subscription.
sdk.start();

const TICKETS = 8;
const model = simulatedModel({
  task: 'classify',
  text: (ticket: Ticket) => ticket.body,
  latency: { baseMs: 40, perInputTokenMs: 0.1, perOutputTokenMs: 1, jitter: 0.2 },
  faults: { transient: 0.3 },
  seed: 1,
});
// The simulated model reports usage and model name; this adds the GenAI operation name.
const classify: BatchHandler<Ticket, string> = (batch, context) => {
  context.report({ operation: 'chat' });
  return model.handler(batch, context);
};

interface Ticket {
  id: number;
  body: string;
}
const bodies = [
  'I want a refund for the double charge on my invoice',
  'The app crashes with an error when I open settings',
  'Cannot log in: password reset email never arrives',
  'Thanks, the new dashboard is great',
  'Payment failed but my card was charged',
  'Export to CSV is broken since the update',
];

const tracer = trace.getTracer('tokenbatch-example');
const tickets$ = new Subject<Ticket>();
const done = new Promise<void>((resolve, reject) => {
  // The whole job in one span: tokenbatch's batch spans become its children.
  tracer.startActiveSpan('classify tickets', (job) => {
    tickets$
      .pipe(
        bufferByTokens<Ticket>({ maxTokens: 60, maxItems: 3, maxWaitMs: 50, text: (ticket) => ticket.body }),
        mergeBatches(classify, { concurrency: 2, retry: { maxAttempts: 4, baseDelayMs: 20 } }),
        orderedResults(),
      )
      .subscribe({
        next: (outcome) => console.log(`ticket ${outcome.item.id}: ${outcome.ok ? outcome.value : `failed (${outcome.error.name})`} after ${outcome.attempts} attempt(s)`),
        error: (error: unknown) => {
          job.setStatus({ code: SpanStatusCode.ERROR });
          job.end();
          reject(error);
        },
        complete: () => {
          job.end();
          resolve();
        },
      });
  });
});

// Tickets arrive every 15 ms, each inside a span of its own (as a request or a consumed message
// would): the batch span that sends a ticket links to it.
interval(15)
  .pipe(take(TICKETS))
  .subscribe({
    next: (i) =>
      tracer.startActiveSpan('ticket received', (span) => {
        span.setAttribute('ticket.id', i);
        tickets$.next({ id: i, body: bodies[i % bodies.length] as string });
        span.end();
      }),
    complete: () => tickets$.complete(),
  });

try {
  await done;
  const stats = model.stats();
  console.log(`${stats.calls} model calls (${stats.failures.transient} transient failures retried), ${stats.inputTokens} input tokens`);
} finally {
  // Flushes the batched spans and takes the final metric reading: the console exporters print them now.
  await sdk.shutdown().catch((error: unknown) => {
    console.error(`could not export the telemetry: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
