// Types of the parts of js/weblm.mjs (the wasm module's JS API) the SDK uses. The bundler
// resolves 'weblm-core' to that file; these declarations stay internal to the package.
export interface ModelSource {
  size: number;
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  parts?: number[];
}
export interface GpuDeviceResult {
  device: object | null;
  reason?: string;
}
export function requestGpuDevice(gpu?: unknown): Promise<GpuDeviceResult>;
export function fileSource(size: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): ModelSource;
export function threadsAvailable(): boolean;
export function hardwareThreads(): Promise<number>;

export interface SessionInfo {
  backend: 'cpu' | 'webgpu';
  backend_name?: string;
  backend_reason: string;
  threads: number;
  arch: string;
  n_vocab: number;
  n_ctx: number;
  n_batch: number;
  [key: string]: unknown;
}
export interface ServiceStats {
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  queued_ms: number;
  prompt_ms: number;
  decode_ms: number;
  drafted: number;   // speculative decoding: tokens drafted
  accepted: number;  // ... and kept
}
export class ChatService {
  stepYield: (() => Promise<void>) | null;
  submit(body: object, options?: {endpoint?: string; onChunk?: (chunk: any) => void}):
      {id: number; done: Promise<{response: any; stats: ServiceStats}>};
  cancel(id: number): boolean;
  dispose(): void;
}
export class Session {
  info: SessionInfo;
  createService(options?: {model_id?: string; cached_sequences?: number; speculation?: string; draft_max?: number}): ChatService;
  dispose(): void;
}
export class Weblm {
  static load(options?: {dist?: string | URL; threads?: number; singleThread?: boolean; webgpuDevice?: object;
                         singleThreadFactory?: unknown}): Promise<Weblm>;
  threads: number;
  build: string;
  buildInfo: {webgpu: boolean; threads: boolean};
  webgpuDevice: object | undefined;
  module: {heapViews(): {u8: Uint8Array}};
  loadModel(source: ModelSource | Uint8Array, options?: {backend?: string; nCtx?: number; nBatch?: number;
            nSeqMax?: number; threads?: number; name?: string}): Promise<Session>;
}
