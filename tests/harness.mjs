// What the Node test scripts share: `--name value` arguments, a list of checks that prints each
// outcome, keeps going after a failure, and sets the exit status at the end; running a binary;
// assertions that stop at the first failure.
import {spawnSync} from 'node:child_process';
import path from 'node:path';

export function cliArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
}

let failures = 0;

// Prints `ok   line` or `FAIL line`; returns `ok`.
export function check(ok, line) {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
  return ok;
}

// Ends the script: the number of failed checks, or `passed` when there were none.
export function finish(passed) {
  console.log(failures ? `${failures} checks FAILED` : passed);
  process.exit(failures ? 1 : 0);
}

// `weblm` (or another binary) run synchronously: run() returns the spawnSync result whatever
// the exit status; ok() throws unless it exited 0.
export function commandRunner(binary) {
  const run = (args, input) => {
    const r = spawnSync(binary, args, {input, encoding: 'utf8', maxBuffer: 64 << 20});
    if (r.error) throw r.error;
    return r;
  };
  const ok = (args, input) => {
    const r = run(args, input);
    if (r.status !== 0) throw new Error(`${path.basename(binary)} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r;
  };
  return {run, ok};
}

// Assertions for scripts that stop at the first failure.
export function expect(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
}
export function expectEqual(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`FAILED: ${what}\n  expected ${e}\n  got      ${a}`);
}
