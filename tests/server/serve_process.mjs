// `weblm serve` as a child process on a free port: its stderr (the request log) collected as it
// comes, its exit, and its base URL once it prints that it is listening.
import {spawn} from 'node:child_process';

export function startServe(weblm, args) {
  const server = spawn(weblm, ['serve', '--port', '0', ...args], {stdio: ['ignore', 'pipe', 'pipe']});
  const serve = {server, log: ''};
  server.stderr.on('data', (d) => { serve.log += d; });
  serve.exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({code, signal})));
  serve.listening = new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)\/v1/);
      if (m) resolve(m[1]);
    });
    serve.exited.then(({code}) => reject(new Error(`weblm serve exited (${code}) before listening: ${serve.log}`)));
  });
  return serve;
}
