/**
 * tokenbatch's metrics in Prometheus: the OpenTelemetry Prometheus exporter serves the chain's
 * instruments at `http://127.0.0.1:9464/metrics` while 300 support tickets stream through
 * bufferByTokens → mergeBatches (the embedded simulated model, with transient faults) → orderedResults.
 * Point a Prometheus scrape job at it; docs/prometheus.md has the PromQL queries and a Grafana dashboard.
 *
 * Run it with `npx tsx examples/prometheus.ts`. It prints what the run produced (mean batch
 * utilization, p99 item wait, tokens and when each batch closed) as one `run: {...}` JSON line, the figures the PromQL queries
 * must return. Environment: `PROMETHEUS_EXPORTER_PORT` (default 9464); `METRICS_HOLD=1` keeps the
 * endpoint up after the job, for a last scrape, until SIGINT or SIGTERM.
 */
import { metrics, trace } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { metrics as sdkMetrics, resources, tracing } from '@opentelemetry/sdk-node';
import { Observable, tap } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, simulatedModel } from 'tokenbatch';

const port = Number(process.env.PROMETHEUS_EXPORTER_PORT ?? 9464);
const TICKETS = 300;

const exporter = new PrometheusExporter({ host: '127.0.0.1', port });
const meterProvider = new sdkMetrics.MeterProvider({ resource: resources.resourceFromAttributes({ 'service.name': 'tokenbatch-example' }), readers: [exporter] });
metrics.setGlobalMeterProvider(meterProvider);
// tokenbatch times handler attempts (tokenbatch_batch_duration_seconds) inside its batch spans: a
// tracer provider without exporters is enough for that.
trace.setGlobalTracerProvider(new tracing.BasicTracerProvider());
console.log(`metrics: http://127.0.0.1:${port}/metrics`);

const bodies = [
  'I want a refund for the double charge on my invoice',
  'The app crashes with an error when I open settings',
  'Cannot log in: password reset email never arrives',
  'Thanks, the new dashboard is great',
  'Payment failed but my card was charged and the invoice shows the wrong price for my subscription',
  'Export to CSV is broken since the update',
];
interface Ticket {
  id: number;
  body: string;
}

/** Tickets in small bursts, every 20 ms: about three seconds of traffic. */
const tickets = new Observable<Ticket>((subscriber) => {
  let sent = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < 2 && sent < TICKETS; k++, sent++) {
      arrivedAt.set(sent, Date.now());
      subscriber.next({ id: sent, body: `${bodies[sent % bodies.length]!} (ticket ${sent})` });
    }
    if (sent === TICKETS) {
      clearInterval(timer);
      subscriber.complete();
    }
  }, 20);
  return () => clearInterval(timer);
});

const model = simulatedModel({
  task: 'classify',
  text: (ticket: Ticket) => ticket.body,
  latency: { baseMs: 60, perInputTokenMs: 0.05, perOutputTokenMs: 1, jitter: 0.3 },
  faults: { transient: 0.05 },
  seed: 3,
});

// What the run produced, measured here, for comparison with what Prometheus computes.
const arrivedAt = new Map<number, number>();
const waits: number[] = [];
let batches = 0;
let utilizationSum = 0;
let tokens = 0;
let outcomes = 0;
const closed: [at: number, tokens: number][] = []; // when each batch closed, and its tokens
const startedAt = Date.now();

await new Promise<void>((resolve, reject) => {
  tickets
    .pipe(
      bufferByTokens<Ticket>({ maxTokens: 300, maxItems: 16, maxWaitMs: 100, text: (ticket) => ticket.body }),
      tap((batch) => {
        const now = Date.now();
        for (const ticket of batch.items) waits.push(now - arrivedAt.get(ticket.id)!);
        batches++;
        utilizationSum += batch.utilization;
        tokens += batch.tokens;
        closed.push([now, batch.tokens]);
      }),
      mergeBatches(model.handler, { concurrency: 4, retry: { maxAttempts: 5, baseDelayMs: 20 } }),
      orderedResults(),
    )
    .subscribe({ next: () => outcomes++, error: reject, complete: resolve });
});

const sorted = [...waits].sort((a, b) => a - b);
const run = {
  items: outcomes,
  batches,
  meanUtilization: utilizationSum / batches,
  waitP99Ms: sorted[Math.ceil(0.99 * sorted.length) - 1]!,
  tokens,
  closed,
  startedAt,
  endedAt: Date.now(),
};
console.log(`run: ${JSON.stringify(run)}`);

if (process.env.METRICS_HOLD === '1') {
  console.log('holding the metrics endpoint: SIGINT or SIGTERM to stop');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
await meterProvider.shutdown(); // stops the exporter's HTTP server
