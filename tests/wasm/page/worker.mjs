// The browser test's Web Worker: runs runLogits for each message, answers {result} or {error}.
import {runLogits} from './run_logits.mjs';

self.onmessage = async (e) => {
  try {
    self.postMessage({result: await runLogits(e.data)});
  } catch (err) {
    self.postMessage({error: String(err?.stack ?? err)});
  }
};
