// Hands control back to the event loop (a macrotask, not a microtask): the engine steps between
// tokens so that a worker sees interruptGenerate() and new requests while generating.
export function yieldToEventLoop(): Promise<void> {
  const setImmediate = (globalThis as any).setImmediate as ((callback: () => void) => void) | undefined;
  if (setImmediate) return new Promise((resolve) => setImmediate(resolve));  // Node
  return new Promise((resolve) => {
    // setTimeout(0) is clamped to 4 ms when nested; a message round trip is not.
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
