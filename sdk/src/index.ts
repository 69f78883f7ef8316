// @weblm/web: GGUF models in the browser (WebGPU, or the WASM CPU backend) and in Node, behind
// an OpenAI-shaped API with WebLLM's names.
export {CreateEngine, Engine, deleteModelFromCache, hasModelInCache} from './engine.js';
export {CreateWebWorkerEngine, WebWorkerEngine} from './worker_engine.js';
export {CreateServiceWorkerEngine, ServiceWorkerEngine} from './service_worker_engine.js';
export {EngineHandler, WebWorkerEngineHandler} from './worker_handler.js';
export {DownloadError, IntegrityError, LoadAbortedError, ModelLoadError, ModelNotLoadedError, ModelTooLargeError, RequestError,
        StorageQuotaError, WebGPUNotAvailableError, WeblmError} from './errors.js';
export {Sha256, sha256Hex} from './sha256.js';
export type * from './types.js';
