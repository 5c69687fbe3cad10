/**
 * A live Server-Sent Events feed, triaged as it streams.
 *
 * A small chat-support server (node:http on 127.0.0.1, a free port) pushes customer messages as
 * SSE in bursts, with keep-alive comments in between, the way a helpdesk or chat backend does.
 * The client reads the feed with fetch and eventsource-parser, turns it into an RxJS Observable,
 * and sends it through the full tokenbatch chain to the embedded simulated model:
 *
 *   bufferByTokens → splitOnOverflow → mergeBatches(model, { concurrency }) → orderedResults
 *
 * The model's context window (220 tokens, tiny to make the point) is smaller than the budget the
 * batches were formed under (260), as happens when a deployment's limit differs from the one
 * configured: the model refuses the larger batches, and splitOnOverflow halves and resends them.
 * Each message's label prints in arrival order as soon as it and every earlier message are done.
 * After 40 messages the client hangs up (which stops the server's feed) and the server closes.
 *
 * Run it with `npx tsx examples/live-stream.ts`; it ends by itself within a few seconds.
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { filter, lastValueFrom, map, Observable, take, tap, toArray } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, simulatedModel, splitOnOverflow } from 'tokenbatch';

const MESSAGES = 40;

interface ChatMessage {
  readonly id: number;
  readonly user: string;
  readonly channel: string;
  readonly text: string;
}

// ---- the server: a synthetic support chat, as SSE ----------------------------------------------

const users = ['ana', 'bo', 'chen', 'dara', 'eli', 'fatou', 'gus'];
const channels = ['web-chat', 'mobile', 'email-bridge'];
const lines = [
  'hi, my payment failed but the charge shows on my card',
  'the app freezes on the login screen since the update',
  'can you resend the invoice for March? I need it for my accountant',
  'love the new search, thanks!',
  'I get error 502 when I upload a file larger than 10 MB',
  'how do I change the email address on my profile',
  'still waiting for my refund from two weeks ago. Order 88213.',
  'the export button does nothing in Firefox',
  'ok that worked, great support',
  'is there a yearly subscription price?',
];

/** A seeded generator (a 32-bit LCG): the feed is the same on every run. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Streams messages in bursts of 1 to 6, every 30 to 150 ms, until the client hangs up. */
function startFeed(response: ServerResponse): () => number {
  const random = lcg(2026);
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  const burst = (): void => {
    const size = 1 + Math.floor(random() * 6);
    for (let i = 0; i < size; i++, next++) {
      const message: ChatMessage = {
        id: next,
        user: users[Math.floor(random() * users.length)]!,
        channel: channels[Math.floor(random() * channels.length)]!,
        text: lines[Math.floor(random() * lines.length)]!,
      };
      response.write(`id: ${next}\nevent: chat\ndata: ${JSON.stringify(message)}\n\n`);
    }
    // Presence updates share the feed; the client keeps only chat events.
    if (random() < 0.3) response.write(`event: presence\ndata: ${JSON.stringify({ user: users[next % users.length], online: true })}\n\n`);
    response.write(': keep-alive\n\n');
    timer = setTimeout(burst, 30 + Math.floor(random() * 120));
  };
  burst();
  return () => {
    clearTimeout(timer);
    return next;
  };
}

async function startServer(): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/events') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    response.write('retry: 1000\n\n');
    const stop = startFeed(response);
    response.on('close', () => console.log(`server: the client hung up; ${stop()} chat messages sent, feed stopped`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

// ---- the client: SSE as an Observable ----------------------------------------------------------

/**
 * The events of an SSE endpoint, as a cold Observable: each subscription opens a request, and
 * unsubscribing (for example by `take`) aborts it, which tells the server to stop.
 */
function serverSentEvents(url: string): Observable<EventSourceMessage> {
  return new Observable<EventSourceMessage>((subscriber) => {
    const controller = new AbortController();
    const read = async (): Promise<void> => {
      const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
      if (!response.headers.get('content-type')?.startsWith('text/event-stream')) throw new Error(`${url}: not an event stream`);
      const reader = response.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onError: 'terminate' }))
        .getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        subscriber.next(value);
      }
      subscriber.complete();
    };
    read().catch((error: unknown) => {
      if (!controller.signal.aborted) subscriber.error(error);
    });
    return () => controller.abort();
  });
}

// ---- the pipeline ------------------------------------------------------------------------------

const server = await startServer();
const { port } = server.address() as AddressInfo;
const url = `http://127.0.0.1:${port}/events`;
console.log(`SSE feed on ${url}; triaging the first ${MESSAGES} chat messages`);

const model = simulatedModel<ChatMessage, 'classify'>({
  task: 'classify',
  text: (message) => message.text,
  contextWindow: 220,
  latency: { baseMs: 80, perOutputTokenMs: 5, jitter: 0.6 },
  seed: 11,
});

const started = Date.now();
const elapsed = (): string => `${String(Date.now() - started).padStart(5)} ms`;

const messages$ = serverSentEvents(url).pipe(
  filter((event) => event.event === 'chat'),
  map((event) => JSON.parse(event.data) as ChatMessage),
  take(MESSAGES),
);

try {
  const outcomes = await lastValueFrom(
    messages$.pipe(
      bufferByTokens({ maxTokens: 260, maxItems: 8, maxWaitMs: 120, text: (message: ChatMessage) => message.text, batchOverheadTokens: 120, itemOverheadTokens: 4 }),
      tap((batch) =>
        console.log(
          `${elapsed()}  batch ${batch.index}: ${batch.items.length} message${batch.items.length === 1 ? '' : 's'}, ${batch.tokens} tokens, closed by ${batch.closeReason}`,
        ),
      ),
      splitOnOverflow(),
      mergeBatches(model.handler, { concurrency: 4, timeoutMs: 5_000 }),
      orderedResults(),
      tap((outcome) => {
        const { user, channel, text } = outcome.item;
        const label = outcome.ok ? outcome.value : `failed (${outcome.error.name})`;
        const split = outcome.splitDepth > 0 ? ` [batch split ${outcome.splitDepth}x]` : '';
        console.log(`${elapsed()}    #${String(outcome.index).padStart(2)} ${`@${user}`.padEnd(7)} ${channel.padEnd(12)} ${label.padEnd(8)} ${text}${split}`);
      }),
      toArray(),
    ),
  );
  const failed = outcomes.filter((outcome) => !outcome.ok).length;
  const stats = model.stats();
  console.log(
    `${outcomes.length} messages triaged (${failed} failed) in ${stats.calls} model calls (${stats.failures.contextOverflow} refused as too long, then split), ${stats.inputTokens} input tokens, $${stats.costUsd.toFixed(6)}`,
  );
} finally {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
  console.log('feed closed');
}
