import { metrics, type Attributes, type Counter, type Meter, type ObservableCallback, type ObservableGauge } from '@opentelemetry/api';
import { VERSION } from '../../version.js';

/** What a source's gauges report: the last values its heartbeat read from Redis. */
export interface GaugeValues {
  pending: number | undefined;
  lag: number | undefined;
  inFlight: number;
}

/**
 * The OpenTelemetry instruments of one Redis stream source. Counters count as things happen; the
 * gauges report what the last heartbeat read (`XINFO GROUPS`), so collecting never calls Redis.
 * The gauges observe only while the source is active, so a finished source is not kept alive.
 */
export class RedisMetrics {
  readonly #attributes: Attributes;
  readonly #reclaimed: Counter;
  readonly #deadLettered: Counter;
  readonly #released: Counter;
  readonly #callbacks: [ObservableGauge, ObservableCallback][];
  #attached = false;

  constructor(meter: Meter | undefined, attributes: Attributes, values: () => GaugeValues) {
    const m = meter ?? metrics.getMeter('tokenbatch', VERSION);
    this.#attributes = attributes;
    this.#reclaimed = m.createCounter('tokenbatch.redis.reclaimed', { description: 'Stream entries taken over from a consumer that went silent (XAUTOCLAIM).', unit: '{entry}' });
    this.#deadLettered = m.createCounter('tokenbatch.redis.dead_lettered', { description: 'Stream entries moved to the dead-letter stream after maxDeliveries.', unit: '{entry}' });
    this.#released = m.createCounter('tokenbatch.redis.released', {
      description: 'Stream entries left pending after a retryable failure, to be delivered again.',
      unit: '{entry}',
    });
    const gauge = (name: string, description: string, read: (now: GaugeValues) => number | undefined): [ObservableGauge, ObservableCallback] => [
      m.createObservableGauge(name, { description, unit: '{entry}' }),
      (result) => {
        const value = read(values());
        if (value !== undefined) result.observe(value, attributes);
      },
    ];
    this.#callbacks = [
      gauge('tokenbatch.redis.consumer.lag', 'Entries of the stream not yet read by the consumer group.', (now) => now.lag),
      gauge('tokenbatch.redis.pending', 'Entries read by the consumer group and not yet acknowledged.', (now) => now.pending),
      gauge('tokenbatch.redis.in_flight', 'Entries this consumer holds: read and not yet acknowledged.', (now) => now.inFlight),
    ];
  }

  /** Start (or stop) reporting the gauges. */
  active(on: boolean): void {
    if (on === this.#attached) return;
    this.#attached = on;
    for (const [instrument, callback] of this.#callbacks) {
      if (on) instrument.addCallback(callback);
      else instrument.removeCallback(callback);
    }
  }

  reclaimed(count: number): void {
    if (count > 0) this.#reclaimed.add(count, this.#attributes);
  }

  deadLettered(count: number): void {
    if (count > 0) this.#deadLettered.add(count, this.#attributes);
  }

  released(count: number): void {
    if (count > 0) this.#released.add(count, this.#attributes);
  }
}
