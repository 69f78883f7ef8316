// The package's public types: what a model is, how an engine is configured, what progress and
// statistics look like. Requests and responses follow OpenAI's JSON shapes as they are.

// A GGUF to load: a URL; several URLs, in order: the parts of a split model (llama.cpp's
// gguf-split, or `weblm split`: PREFIX-00001-of-0000N.gguf ...) or pieces of one file cut
// anywhere (`split -b`); or a local File/Blob (from <input type=file>, or fs.openAsBlob in Node).
export type ModelSource = string | string[] | Blob | ModelRecord;

export interface ModelRecord {
  url?: string | string[];
  file?: Blob;
  id?: string;      // the model's name in responses (default: the file name)
  sha256?: string;  // expected sha256 of the whole GGUF (hex); a mismatch throws IntegrityError
}

export type LoadStage = 'download' | 'cache' | 'file' | 'upload' | 'ready';

export interface InitProgressReport {
  stage: LoadStage;
  loaded: number;          // bytes of the model done in this load
  total: number;           // bytes of the model
  progress: number;        // loaded / total, 0..1
  bytesPerSecond: number;  // over the current stage
  etaSeconds: number;      // at that rate; 0 when done or unknown
  timeElapsed: number;     // seconds since the load started
  text: string;            // one line for a UI
}

export type InitProgressCallback = (report: InitProgressReport) => void;

export type CacheBackend = 'cache' | 'opfs' | 'none';

export interface EngineConfig {
  initProgressCallback?: InitProgressCallback;
  signal?: AbortSignal;
  backend?: 'auto' | 'webgpu' | 'cpu';  // auto: WebGPU when there is an adapter and the model fits
  cache?: CacheBackend;                  // default 'cache' (Cache API) where it exists, else 'none'
  contextWindowSize?: number;            // tokens (default min(4096, the model's))
  maxConcurrentRequests?: number;        // requests batched together (default 4)
  threads?: number;                      // CPU backend threads (default: all; 1 without cross-origin isolation)
  wasmUrl?: string;                      // directory of weblm.mjs/.wasm (default: beside the bundle)
  gpu?: unknown;                         // a WebGPU implementation (navigator.gpu, or npm `webgpu`'s create())
  // Speculative decoding: 'ngram' drafts tokens by prompt lookup (the output is unchanged; it
  // pays where replies repeat their input: summaries, edits, code). Default 'none'.
  speculation?: 'none' | 'ngram';
  draftMaxTokens?: number;               // most tokens drafted per step (default 8)
}

export interface LoadedModelInfo {
  modelId: string;
  backend: 'cpu' | 'webgpu';
  backendReason: string;
  contextWindowSize: number;
  bytes: number;
  fromCache: boolean;
}

export interface RuntimeStats {
  backend: 'cpu' | 'webgpu' | null;
  backendReason: string;
  prefillTokensPerSecond: number;  // the last request's prompt (tokens not reused from cache)
  decodeTokensPerSecond: number;   // the last request's generated tokens after the first
  timeToFirstTokenMs: number;      // queued + prompt, for the last request
  promptTokens: number;
  completionTokens: number;
  memoryBytes: number;             // wasm memory (weights on the CPU backend, KV cache, buffers)
  requests: number;                // completed since load / resetChat
  draftedTokens: number;           // speculative decoding, the last request: tokens drafted
  acceptedTokens: number;          // ... and kept
}

// OpenAI's request and response JSON; fields beyond these pass through to the engine.
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  [key: string]: unknown;
}
export interface CompletionRequestBase {
  stream?: boolean;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string | string[];
  [key: string]: unknown;
}
export interface ChatCompletionRequest extends CompletionRequestBase {
  messages: ChatMessage[];
}
export interface CompletionRequest extends CompletionRequestBase {
  prompt: string | number[];
}
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  model: string;
  choices: {index: number; message: {role: 'assistant'; content: string}; finish_reason: string}[];
  usage: {prompt_tokens: number; completion_tokens: number; total_tokens: number};
  [key: string]: unknown;
}
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  model: string;
  choices: {index: number; delta: {role?: string; content?: string}; finish_reason: string | null}[];
  [key: string]: unknown;
}
export interface Completion {
  id: string;
  object: 'text_completion';
  choices: {index: number; text: string; finish_reason: string}[];
  [key: string]: unknown;
}
export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  choices: {index: number; text: string; finish_reason: string | null}[];
  [key: string]: unknown;
}

export interface ChatCompletions {
  create(request: ChatCompletionRequest & {stream: true}): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(request: ChatCompletionRequest & {stream?: false}): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}
export interface Completions {
  create(request: CompletionRequest & {stream: true}): Promise<AsyncIterable<CompletionChunk>>;
  create(request: CompletionRequest & {stream?: false}): Promise<Completion>;
  create(request: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>>;
}

// What CreateEngine and CreateWebWorkerEngine return.
export interface EngineInterface {
  chat: {completions: ChatCompletions};
  completions: Completions;
  reload(model: ModelSource, config?: EngineConfig): Promise<LoadedModelInfo>;
  interruptGenerate(): void;
  resetChat(): Promise<void>;
  unload(): Promise<void>;
  runtimeStats(): Promise<RuntimeStats>;
}
