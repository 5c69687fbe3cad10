import { chatItems, type RecordedRequest, type Reply } from './openai-server.js';

/**
 * OpenAI's Batch API on the loopback server: `/v1/files` (multipart upload, content, retrieve,
 * delete) and `/v1/batches` (create, retrieve, cancel, list), with the wire formats of the real
 * API. A batch moves one step per retrieve: `validating`, then `in_progress` with request counts
 * growing over `pollsToFinish` polls, then its planned end (`completed`, `expired` with part of its
 * requests done, `failed` at validation). Output and error files are written as the API writes them.
 *
 * ```ts
 * const api = new BatchApi({ answer: (body) => ({ status_code: 200, body: ... }) });
 * server.batchApi = api;
 * api.plan.push({ end: 'expired', processed: 3 });
 * ```
 */

/** One request line's answer: what the endpoint would have replied. */
export interface LineAnswer {
  status_code: number;
  body: unknown;
}

/** How one batch (in creation order) ends. */
export interface BatchPlan {
  end: 'completed' | 'expired' | 'failed';
  /** With `'expired'`: how many requests ran before the window closed. Default half. */
  processed?: number;
  /** With `'failed'`: the validation errors (`line` is 1-based, as the API reports). */
  errors?: { code: string; message: string; line?: number | null; param?: string | null }[];
  /** Retrieves before the batch ends. Default the API's `pollsToFinish`. */
  polls?: number;
}

export interface StoredFile {
  id: string;
  purpose: string;
  filename: string;
  content: string;
}

export interface SimulatedBatch {
  id: string;
  endpoint: string;
  inputFileId: string;
  metadata: Record<string, string> | null;
  status: 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';
  lines: { custom_id: string; method: string; url: string; body: unknown }[];
  plan: BatchPlan;
  polls: number;
  /** Requests run so far. */
  done: number;
  /** Answers of the requests run, computed once. */
  answers: LineAnswer[];
  outputFileId?: string;
  errorFileId?: string;
  createdAt: number;
}

export interface BatchApiOptions {
  /** Answers one request line. Default: a chat completion labelling each item `label:<text>`. */
  answer?: (body: unknown, customId: string) => LineAnswer;
  /** Retrieves a batch takes to end. Default 3. */
  pollsToFinish?: number;
}

/** The default answer: each item of an openAIChat request labelled `label:<text>`, usage from lengths. */
export function labelAnswer(body: unknown): LineAnswer {
  const items = chatItems({ body } as RecordedRequest);
  const content = JSON.stringify({ results: items.map(({ id, text }) => ({ id, result: `label:${text}` })) });
  const prompt = JSON.stringify((body as { messages?: unknown }).messages ?? '').length;
  return {
    status_code: 200,
    body: {
      id: 'chatcmpl-batch',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: (body as { model?: string }).model ?? 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: Math.ceil(prompt / 4), completion_tokens: Math.ceil(content.length / 4), total_tokens: Math.ceil(prompt / 4) + Math.ceil(content.length / 4) },
    },
  };
}

const json = (body: unknown, status = 200): Reply => ({ kind: 'json', status, body });
const notFound = (what: string): Reply => json({ error: { message: `No such ${what}`, type: 'invalid_request_error', param: null, code: null } }, 404);

export class BatchApi {
  readonly files = new Map<string, StoredFile>();
  readonly batches = new Map<string, SimulatedBatch>();
  /** Plans of the next batches, in creation order; a batch without one completes. */
  readonly plan: BatchPlan[] = [];
  /** Replies used instead of the simulation for the next requests to a path (`'POST /v1/batches'`). */
  readonly failNext = new Map<string, Reply[]>();
  readonly #answer: (body: unknown, customId: string) => LineAnswer;
  readonly #pollsToFinish: number;
  #ids = 0;

  constructor(options: BatchApiOptions = {}) {
    this.#answer = options.answer ?? labelAnswer;
    this.#pollsToFinish = options.pollsToFinish ?? 3;
  }

  /** Counts of the requests the client made, by route. */
  static routeOf(request: RecordedRequest): string {
    return `${request.method} ${request.path.replace(/\/(?:file-|batch_)[\w-]+/g, '/:id')}`;
  }

  /** Handles a Files or Batches request; `undefined` for other paths. */
  async handle(request: RecordedRequest, raw: Buffer): Promise<Reply | undefined> {
    const { method, path } = request;
    if (!path.startsWith('/v1/files') && !path.startsWith('/v1/batches')) return undefined;
    const scripted = this.failNext.get(`${method} ${path}`)?.shift() ?? this.failNext.get(BatchApi.routeOf(request))?.shift();
    if (scripted) return scripted;
    const parts = path.split('/').slice(2);
    if (parts[0] === 'files') {
      if (method === 'POST' && parts.length === 1) return this.#upload(request, raw);
      const file = this.files.get(parts[1] ?? '');
      if (!file) return notFound('file');
      if (method === 'GET' && parts[2] === 'content') return { kind: 'raw', status: 200, headers: { 'content-type': 'application/octet-stream' }, body: file.content };
      if (method === 'DELETE') {
        this.files.delete(file.id);
        return json({ id: file.id, object: 'file', deleted: true });
      }
      return json(this.#fileObject(file));
    }
    if (method === 'POST' && parts.length === 1) return this.#create(request.body as Record<string, unknown>);
    if (method === 'GET' && parts.length === 1)
      return json({ object: 'list', data: [...this.batches.values()].reverse().map((batch) => this.#batchObject(batch)), has_more: false });
    const batch = this.batches.get(parts[1] ?? '');
    if (!batch) return notFound('batch');
    if (method === 'POST' && parts[2] === 'cancel') {
      if (['validating', 'in_progress', 'finalizing'].includes(batch.status)) batch.status = 'cancelling';
      return json(this.#batchObject(batch));
    }
    this.#advance(batch);
    return json(this.#batchObject(batch));
  }

  async #upload(request: RecordedRequest, raw: Buffer): Promise<Reply> {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': String(request.headers['content-type']) } }).formData();
    const file = form.get('file');
    const purpose = form.get('purpose');
    if (!(file instanceof Blob) || typeof purpose !== 'string') return json({ error: { message: 'file and purpose are required', type: 'invalid_request_error' } }, 400);
    const stored: StoredFile = { id: `file-${++this.#ids}`, purpose, filename: file instanceof File ? file.name : 'upload', content: await file.text() };
    this.files.set(stored.id, stored);
    return json(this.#fileObject(stored));
  }

  #create(body: Record<string, unknown>): Reply {
    const input = this.files.get(String(body.input_file_id));
    if (!input) return notFound('file');
    if (body.completion_window !== '24h') return json({ error: { message: 'completion_window must be 24h', type: 'invalid_request_error' } }, 400);
    const lines = input.content
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as SimulatedBatch['lines'][number]);
    const batch: SimulatedBatch = {
      id: `batch_${++this.#ids}`,
      endpoint: String(body.endpoint),
      inputFileId: input.id,
      metadata: (body.metadata as Record<string, string> | undefined) ?? null,
      status: 'validating',
      lines,
      plan: this.plan.shift() ?? { end: 'completed' },
      polls: 0,
      done: 0,
      answers: [],
      createdAt: 1_700_000_000 + this.#ids,
    };
    this.batches.set(batch.id, batch);
    return json(this.#batchObject(batch));
  }

  /** One retrieve: one step of the batch's life. */
  #advance(batch: SimulatedBatch): void {
    const total = batch.lines.length;
    const polls = batch.plan.polls ?? this.#pollsToFinish;
    if (batch.status === 'cancelling') return this.#finish(batch, 'cancelled');
    if (!['validating', 'in_progress', 'finalizing'].includes(batch.status)) return;
    batch.polls++;
    if (batch.status === 'validating') {
      if (batch.plan.end === 'failed') return this.#finish(batch, 'failed');
      batch.status = 'in_progress';
    }
    const limit = batch.plan.end === 'expired' ? Math.min(total, batch.plan.processed ?? Math.floor(total / 2)) : total;
    batch.done = Math.min(limit, Math.ceil((total * batch.polls) / polls));
    for (let i = batch.answers.length; i < batch.done; i++) batch.answers.push(this.#answer(batch.lines[i]!.body, batch.lines[i]!.custom_id));
    if (batch.polls >= polls) this.#finish(batch, batch.plan.end === 'expired' ? 'expired' : 'completed');
  }

  #finish(batch: SimulatedBatch, status: SimulatedBatch['status']): void {
    batch.status = status;
    if (status === 'failed') return;
    const output: string[] = [];
    const errors: string[] = [];
    batch.lines.forEach((line, i) => {
      const id = `batch_req_${batch.id}_${i}`;
      if (i < batch.done) {
        const answer = batch.answers[i]!;
        const entry = JSON.stringify({ id, custom_id: line.custom_id, response: { status_code: answer.status_code, request_id: `req_${i}`, body: answer.body }, error: null });
        (answer.status_code === 200 ? output : errors).push(entry);
      } else {
        const code = status === 'expired' ? 'batch_expired' : 'batch_cancelled';
        const message =
          status === 'expired' ? 'This request could not be executed before the completion window expired.' : 'This request was not executed because the batch was cancelled.';
        errors.push(JSON.stringify({ id, custom_id: line.custom_id, response: null, error: { code, message } }));
      }
    });
    const store = (lines: string[], kind: string): string | undefined => {
      if (lines.length === 0) return undefined;
      const file: StoredFile = { id: `file-${++this.#ids}`, purpose: 'batch_output', filename: `${batch.id}_${kind}.jsonl`, content: `${lines.join('\n')}\n` };
      this.files.set(file.id, file);
      return file.id;
    };
    batch.outputFileId = store(output, 'output');
    batch.errorFileId = store(errors, 'error');
  }

  #fileObject(file: StoredFile) {
    return { id: file.id, object: 'file', bytes: Buffer.byteLength(file.content), created_at: 1_700_000_000, filename: file.filename, purpose: file.purpose, status: 'processed' };
  }

  #batchObject(batch: SimulatedBatch) {
    const failed = batch.answers.filter((answer) => answer.status_code !== 200).length;
    const ended = ['completed', 'expired', 'cancelled'].includes(batch.status);
    const notRun = ended ? batch.lines.length - batch.done : 0;
    return {
      id: batch.id,
      object: 'batch',
      endpoint: batch.endpoint,
      input_file_id: batch.inputFileId,
      completion_window: '24h',
      status: batch.status,
      output_file_id: batch.outputFileId ?? null,
      error_file_id: batch.errorFileId ?? null,
      created_at: batch.createdAt,
      metadata: batch.metadata,
      request_counts: { total: batch.status === 'validating' || batch.status === 'failed' ? 0 : batch.lines.length, completed: batch.done - failed, failed: failed + notRun },
      errors:
        batch.status === 'failed'
          ? {
              object: 'list',
              data: (batch.plan.errors ?? [{ code: 'invalid_request', message: 'the input file is invalid' }]).map((error) => ({ line: null, param: null, ...error })),
            }
          : null,
    };
  }
}
