// A one-consumer async iterable fed by callbacks: stream chunks arrive as events (from the
// service or a worker message) and leave through `for await`.
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiting: ((r: IteratorResult<T>) => void) | null = null;
  #failWaiting: ((e: unknown) => void) | null = null;
  #ended = false;
  #error: unknown = null;

  push(item: T): void {
    if (this.#waiting) this.#take()({value: item, done: false});
    else this.#items.push(item);
  }

  end(): void {
    this.#ended = true;
    if (this.#waiting) this.#take()({value: undefined, done: true});
  }

  fail(error: unknown): void {
    this.#error = error ?? new Error('stream failed');
    this.#ended = true;
    if (this.#failWaiting) {
      const reject = this.#failWaiting;
      this.#waiting = this.#failWaiting = null;
      reject(this.#error);
    }
  }

  #take(): (r: IteratorResult<T>) => void {
    const resolve = this.#waiting!;
    this.#waiting = this.#failWaiting = null;
    return resolve;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length) return Promise.resolve({value: this.#items.shift()!, done: false});
        if (this.#error) return Promise.reject(this.#error);
        if (this.#ended) return Promise.resolve({value: undefined, done: true});
        return new Promise((resolve, reject) => {
          this.#waiting = resolve;
          this.#failWaiting = reject;
        });
      },
    };
  }
}
