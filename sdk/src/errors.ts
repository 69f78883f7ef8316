// Typed errors: each says what went wrong and what the user can do about it. They cross the
// worker boundary by name (see protocol.ts), so a page catches the same classes as Node code.

export class WeblmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

// WebGPU was asked for (backend: 'webgpu') but this browser, device or build has none.
export class WebGPUNotAvailableError extends WeblmError {}

// The model cannot fit: wasm32 memory holds at most 4 GiB, or the allocation failed.
export class ModelTooLargeError extends WeblmError {}

// The model's bytes are not what they should be: a wrong sha256, or a corrupted cached copy.
export class IntegrityError extends WeblmError {}

// Not enough browser storage left to cache the model.
export class StorageQuotaError extends WeblmError {}

// The download failed (HTTP status, network, or a server without the needed headers).
export class DownloadError extends WeblmError {}

// The load was cancelled through its AbortSignal.
export class LoadAbortedError extends WeblmError {}

// The engine could not open the model (not a GGUF, unsupported architecture, ...).
export class ModelLoadError extends WeblmError {}

// A request was used before a model was loaded, or after unload().
export class ModelNotLoadedError extends WeblmError {}

// A chat/completions request was rejected (OpenAI's error object: status, code, param).
export class RequestError extends WeblmError {
  constructor(message: string, readonly status: number = 400, readonly code: string | null = null,
              readonly param: string | null = null) {
    super(message);
  }
}

export const ERROR_CLASSES: Record<string, new (message: string) => WeblmError> = {
  WeblmError, WebGPUNotAvailableError, ModelTooLargeError, IntegrityError, StorageQuotaError, DownloadError,
  LoadAbortedError, ModelLoadError, ModelNotLoadedError,
};

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new LoadAbortedError(`${what} was cancelled`);
}
