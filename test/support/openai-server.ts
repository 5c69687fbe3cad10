import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BatchApi } from './openai-batch-api.js';

/**
 * A real HTTP server on 127.0.0.1 (random port) speaking the OpenAI wire format, for testing
 * backends end to end through the real SDK and the real network stack. Replies are scripted per
 * request, in order; every request is recorded.
 *
 * ```ts
 * const server = await OpenAIServer.start();
 * server.enqueue(reply.error(429, { message: 'slow down', code: 'rate_limit_exceeded' }, { 'retry-after': '2' }));
 * server.enqueue(reply.chatResults([{ id: 1, result: 'a' }]));
 * const client = new OpenAI({ apiKey: 'test', baseURL: server.url, maxRetries: 0 });
 * ...
 * await server.close();
 * ```
 */

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  /** The path, e.g. `/v1/chat/completions`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body. */
  readonly raw: string;
  /** The body parsed as JSON (`undefined` if it is not JSON); loosely typed, as tests read wire data. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  /** Set when the client went away before the reply was complete (a held request that was aborted). */
  aborted: boolean;
}

/** What the server does with one request. */
export type Reply =
  | { readonly kind: 'json'; readonly status?: number; readonly headers?: Record<string, string>; readonly body: unknown }
  | { readonly kind: 'raw'; readonly status?: number; readonly headers?: Record<string, string>; readonly body: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'destroy' };

/** A reply, or a function of the request that makes one. */
export type Script = Reply | ((request: RecordedRequest) => Reply);

/** Usage as the wire format has it. */
export interface WireUsage {
  prompt_tokens: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export class OpenAIServer {
  /** Requests in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** When set, answers `/v1/files` and `/v1/batches` requests (before the scripted queue). */
  batchApi: BatchApi | undefined;
  /** Used when the queue is empty. Default: a 500 saying that nothing was scripted. */
  fallback: Script | undefined;
  readonly #queue: Script[] = [];
  readonly #server: Server;
  readonly #abortWaiters: ((request: RecordedRequest) => void)[] = [];
  readonly #held = new Set<ServerResponse>();

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts a server on 127.0.0.1 with a port chosen by the system. */
  static async start(): Promise<OpenAIServer> {
    const server = createServer((request, response) => void instance.#handle(request, response));
    const instance = new OpenAIServer(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return instance;
  }

  /** The base URL to give the SDK (ends in `/v1`). */
  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  /** Requests the server is holding open (`hang` replies whose client has not gone away). */
  get held(): number {
    return this.#held.size;
  }

  /** Queues replies for the next requests, in order. */
  enqueue(...scripts: Script[]): void {
    this.#queue.push(...scripts);
  }

  /** Forgets the recorded requests, the replies still queued and the fallback (between tests). */
  reset(): void {
    this.requests.length = 0;
    this.#queue.length = 0;
    this.fallback = undefined;
    this.batchApi = undefined;
  }

  /** Resolves when the client of a held request goes away. */
  nextAbort(): Promise<RecordedRequest> {
    return new Promise((resolve) => this.#abortWaiters.push(resolve));
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    for (const response of this.#held) response.destroy();
    this.#held.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      path: (request.url ?? '').split('?')[0]!,
      headers: request.headers,
      raw,
      body,
      aborted: false,
    };
    this.requests.push(recorded);
    const simulated = await this.batchApi?.handle(recorded, Buffer.concat(chunks));
    const script = simulated ?? this.#queue.shift() ?? this.fallback ?? reply.error(500, { message: `no reply scripted for ${recorded.method} ${recorded.path}` });
    const planned = typeof script === 'function' ? script(recorded) : script;
    switch (planned.kind) {
      case 'hang':
        this.#held.add(response);
        response.on('close', () => {
          this.#held.delete(response);
          if (response.writableEnded) return;
          recorded.aborted = true;
          for (const waiter of this.#abortWaiters.splice(0)) waiter(recorded);
        });
        return;
      case 'destroy':
        request.socket.destroy();
        return;
      case 'json':
      case 'raw': {
        const payload = planned.kind === 'json' ? JSON.stringify(planned.body) : planned.body;
        response.writeHead(planned.status ?? 200, { 'content-type': 'application/json', ...planned.headers });
        response.end(payload);
      }
    }
  }
}

let completionIds = 0;

/** Options of a scripted chat completion. */
export interface ChatReplyOptions {
  model?: string;
  /** Default: 100 prompt + 20 completion tokens; `null` leaves usage out. */
  usage?: WireUsage | null;
  headers?: Record<string, string>;
  finishReason?: string;
  refusal?: string;
}

/** Builders of scripted replies. */
export const reply = {
  /** A JSON reply. */
  json(body: unknown, status = 200, headers: Record<string, string> = {}): Reply {
    return { kind: 'json', status, headers, body };
  },

  /** A chat completion whose message content is `content`. */
  chat(content: string | null, options: ChatReplyOptions = {}): Reply {
    const usage = options.usage === undefined ? { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } : options.usage;
    return reply.json(
      {
        id: `chatcmpl-${++completionIds}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: options.model ?? 'gpt-4o-mini-2024-07-18',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: options.refusal ?? null },
            finish_reason: options.finishReason ?? 'stop',
            logprobs: null,
          },
        ],
        ...(usage ? { usage } : {}),
      },
      200,
      options.headers,
    );
  },

  /** A chat completion whose content is `{ "results": entries }`. */
  chatResults(entries: readonly { id: unknown; result: unknown }[], options: ChatReplyOptions = {}): Reply {
    return reply.chat(JSON.stringify({ results: entries }), options);
  },

  /**
   * Answers a chat request built by `openAIChat` by reading its numbered item lines and applying
   * `answer` to each text (ids as sent, in order).
   */
  chatAnswering(answer: (text: string, id: number) => unknown, options: ChatReplyOptions = {}): (request: RecordedRequest) => Reply {
    return (request) =>
      reply.chatResults(
        chatItems(request).map(({ id, text }) => ({ id, result: answer(text, id) })),
        options,
      );
  },

  /**
   * An embeddings response with `vectors[i]` at `index: i`, listed in `order` (default ascending),
   * encoded as the request asked (`encoding_format`: base64 or float) unless `encoding` forces one.
   */
  embeddings(
    vectors: readonly (readonly number[])[],
    options: { order?: readonly number[]; encoding?: 'base64' | 'float'; model?: string; usage?: WireUsage | null; headers?: Record<string, string> } = {},
  ): (request: RecordedRequest) => Reply {
    return (request) => {
      const encoding = options.encoding ?? ((request.body as { encoding_format?: string } | undefined)?.encoding_format === 'base64' ? 'base64' : 'float');
      const order = options.order ?? vectors.map((_, i) => i);
      const usage = options.usage === undefined ? { prompt_tokens: 42, total_tokens: 42 } : options.usage;
      return reply.json(
        {
          object: 'list',
          data: order.map((index) => ({
            object: 'embedding',
            index,
            embedding: encoding === 'base64' ? encodeFloat32(vectors[index]!) : vectors[index],
          })),
          model: options.model ?? 'text-embedding-3-small',
          ...(usage ? { usage } : {}),
        },
        200,
        options.headers,
      );
    };
  },

  /** An error in OpenAI's format: `{ error: { message, type, param, code } }`. */
  error(status: number, error: { message: string; type?: string; code?: string | null; param?: string | null }, headers: Record<string, string> = {}): Reply {
    return reply.json({ error: { type: 'invalid_request_error', param: null, code: null, ...error } }, status, headers);
  },

  /** A body that is not valid JSON, sent as application/json. */
  malformed(body = '{"id": "chatcmpl-1", "choices": [', status = 200): Reply {
    return { kind: 'raw', status, body };
  },

  /** Holds the request open until the client goes away. */
  hang(): Reply {
    return { kind: 'hang' };
  },

  /** Drops the connection without answering. */
  destroy(): Reply {
    return { kind: 'destroy' };
  },
};

/** The items of a chat request built by `openAIChat`: the JSON lines of its user message. */
export function chatItems(request: RecordedRequest): { id: number; text: string }[] {
  const messages = (request.body as { messages?: { role: string; content: string }[] }).messages ?? [];
  const user = messages.find((message) => message.role === 'user');
  return (user?.content ?? '')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { id: number; text: string });
}

/** Float32 little-endian, base64: how the API sends `encoding_format: 'base64'` vectors. */
export function encodeFloat32(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
