// Messages between an engine proxy (page) and its handler (Web Worker):
//   proxy -> handler  {id, op, args}
//   handler -> proxy  {id, progress} | {id, chunk} | {id, result} | {id, error}
// Errors cross as {name, message, ...} and are rebuilt as the same typed error classes.
import {ERROR_CLASSES, RequestError, WeblmError} from './errors.js';

export type Op = 'reload' | 'abort' | 'create' | 'interrupt' | 'resetChat' | 'unload' | 'runtimeStats' | 'keepAlive';

export interface Request {
  id: number;
  op: Op;
  args?: any;
}

export interface Reply {
  id: number;
  progress?: unknown;
  chunk?: unknown;
  result?: unknown;
  error?: SerializedError;
}

export interface SerializedError {
  name: string;
  message: string;
  status?: number;
  code?: string | null;
  param?: string | null;
}

// Where messages go and come from: a Worker, the worker's own scope, or a MessagePort.
export interface Endpoint {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

export function serializeError(e: any): SerializedError {
  const out: SerializedError = {name: e?.name ?? 'Error', message: String(e?.message ?? e)};
  if (e instanceof RequestError) Object.assign(out, {status: e.status, code: e.code, param: e.param});
  return out;
}

export function deserializeError(e: SerializedError): Error {
  if (e.name === 'RequestError') return new RequestError(e.message, e.status, e.code, e.param);
  const Class = ERROR_CLASSES[e.name];
  if (Class) return new Class(e.message);
  const error = e.name === 'TypeError' ? new TypeError(e.message) : new WeblmError(e.message);
  return error;
}
