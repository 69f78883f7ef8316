import type {InitProgressCallback, LoadStage} from './types.js';

const STAGE_TEXT: Record<LoadStage, string> = {
  download: 'Downloading', cache: 'Reading from cache', file: 'Reading file', upload: 'Preparing the model', ready: 'Ready',
};

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

// Turns byte counts into InitProgressReports (rate and ETA over the current stage), at most
// one report per `intervalMs` for a stage in progress (every stage change is reported).
export class ProgressMeter {
  #start = performance.now();
  #stage: LoadStage | null = null;
  #stageStart = 0;
  #stageStartBytes = 0;
  #lastReport = 0;
  loaded = 0;

  constructor(readonly total: number, readonly callback: InitProgressCallback | undefined, readonly intervalMs = 100) {}

  advance(stage: LoadStage, bytes: number): void {
    this.loaded += bytes;
    this.report(stage);
  }

  report(stage: LoadStage): void {
    const now = performance.now();
    const changed = stage !== this.#stage;
    if (changed) {
      this.#stage = stage;
      this.#stageStart = now;
      this.#stageStartBytes = this.loaded;
    }
    if (!this.callback || (!changed && now - this.#lastReport < this.intervalMs && this.loaded < this.total)) return;
    this.#lastReport = now;
    const seconds = (now - this.#stageStart) / 1000;
    const bytesPerSecond = seconds > 0 ? (this.loaded - this.#stageStartBytes) / seconds : 0;
    const left = this.total - this.loaded;
    const etaSeconds = bytesPerSecond > 0 && stage !== 'ready' ? left / bytesPerSecond : 0;
    const rate = bytesPerSecond > 0 && (stage === 'download' || stage === 'cache') ? `, ${mib(bytesPerSecond)}/s` : '';
    const text = stage === 'ready' || stage === 'upload'
        ? `${STAGE_TEXT[stage]} (${mib(this.total)})`
        : `${STAGE_TEXT[stage]}: ${mib(this.loaded)} of ${mib(this.total)}${rate}${etaSeconds >= 1 ? `, ${Math.ceil(etaSeconds)} s left` : ''}`;
    this.callback({stage, loaded: this.loaded, total: this.total, progress: this.total ? this.loaded / this.total : 1,
                   bytesPerSecond, etaSeconds, timeElapsed: (now - this.#start) / 1000, text});
  }
}
