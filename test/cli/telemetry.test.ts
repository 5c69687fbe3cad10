import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { telemetryRequested } from '../../src/cli/telemetry.js';
import { cli, completeLines, simulated, testFolder, writeInput } from '../support/cli.js';

const { path } = testFolder();

/** A loopback OTLP/HTTP receiver (JSON encoding) that keeps what it is sent, by path. */
async function otlpReceiver(): Promise<{ url: string; received: Map<string, unknown[]>; close: () => Promise<void> }> {
  const received = new Map<string, unknown[]>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      received.set(request.url ?? '', [...(received.get(request.url ?? '') ?? []), body]);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface ExportTraceRequest {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { scope: { name: string }; spans: { name: string }[] }[] }[];
}

describe('tokenbatch run: telemetry from the OTEL_* variables', () => {
  it('asks for telemetry only when an exporter variable is set, and not when the SDK is disabled', () => {
    expect(telemetryRequested({})).toBe(false);
    expect(telemetryRequested({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
    expect(telemetryRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' })).toBe(true);
    expect(telemetryRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(telemetryRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
  });

  it('exports the batch spans and metrics over OTLP to the endpoint the environment names', async () => {
    const receiver = await otlpReceiver();
    try {
      const input = path('items.jsonl');
      const output = path('results.jsonl');
      writeInput(input, 12);
      const { code, stderr } = await cli(simulated(input, output, '--sim-latency-ms', '1', '--max-items', '4'), {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'ticket-labels',
        OTEL_LOGS_EXPORTER: 'none',
      });
      expect(stderr).toContain('wrote 12 result lines');
      expect(code).toBe(0);
      expect(completeLines(output)).toHaveLength(12);
      const traces = (receiver.received.get('/v1/traces') ?? []) as ExportTraceRequest[];
      const resources = traces.flatMap((request) => request.resourceSpans);
      const spans = resources.flatMap((resource) => resource.scopeSpans.filter((scope) => scope.scope.name === 'tokenbatch').flatMap((scope) => scope.spans));
      expect(spans.length).toBeGreaterThanOrEqual(3);
      const service = resources[0]?.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue;
      expect(service).toBe('ticket-labels');
      expect(JSON.stringify(receiver.received.get('/v1/metrics') ?? [])).toContain('tokenbatch.outcomes');
    } finally {
      await receiver.close();
    }
  });
});
