// The package's ready-made worker script: an engine answering CreateWebWorkerEngine's proxy.
import {WebWorkerEngineHandler} from './worker_handler.js';

const handler = new WebWorkerEngineHandler();
globalThis.onmessage = (event: MessageEvent) => handler.onmessage(event);
