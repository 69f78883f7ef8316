// weblm serve: an OpenAI-compatible HTTP server (see server/http_server.h) on one model; requests
// decode together in one forward pass (continuous batching, up to --parallel sequences of KV).
// Prints the URL on stdout once listening; logs one line per request on stderr. SIGINT/SIGTERM
// stop it gracefully.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/service_options.h"
#include "server/http_server.h"
#include "util/error.h"

namespace weblm::cli {

int serve_command(const Argv& argv) {
  std::vector<OptionSpec> specs = engine_options();
  specs.push_back({{"--host"}, true, "address to listen on, default 127.0.0.1 (loopback only)"});
  specs.push_back({{"--port"}, true, "port, default 8080 (0: any free port)"});
  specs.push_back({{"--api-key"}, true, "require 'Authorization: Bearer KEY' on /v1 routes"});
  specs.push_back({{"--max-body"}, true, "largest request body in bytes, default 4194304"});
  specs.push_back({{"--queue"}, true, "requests accepted beyond --parallel before answering 503, default 64"});
  const Args a(argv, specs);

  server::ServerOptions options;
  options.host = a.str("--host", "127.0.0.1");
  options.port = static_cast<int>(a.integer("--port", 8080));
  if (options.port < 0 || options.port > 65535) fail("--port must be 0..65535, got ", options.port);
  options.api_key = a.str("--api-key", "");
  const int64_t max_body = a.integer("--max-body", 4 << 20);
  const int64_t queue = a.integer("--queue", 64);
  const int64_t parallel = a.integer("-np", 1);
  if (max_body < 1) fail("--max-body must be positive, got ", max_body);
  if (queue < 0) fail("--queue must be >= 0, got ", queue);
  if (parallel < 1) fail("--parallel must be >= 1, got ", parallel);
  options.max_body_bytes = static_cast<size_t>(max_body);
  options.max_active = static_cast<int32_t>(parallel + queue);
  // Each running stream holds a connection thread; idle keep-alive connections hold one briefly.
  options.http_threads = static_cast<int32_t>(std::max<int64_t>(32, 2 * (parallel + queue)));
  const std::string path = model_path(a);
  options.model_id = path.substr(path.find_last_of('/') + 1);  // as open_service names it

  // Signals are taken by one thread with sigwait (blocked everywhere else, so every thread the
  // server starts inherits the mask): stopping runs as ordinary code, not in a signal handler.
  // A shell starts background jobs with SIGINT ignored, and an ignored signal never reaches
  // sigwait: restore the default first (blocked, it never acts).
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hung up is a failed write, not the end of the server

  ServiceStack stack = open_service(a);
  server::Server server(*stack.service, options);
  const int port = server.bind();

  std::atomic<bool> signalled{false};
  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    signalled = true;
    std::fprintf(stderr, "weblm serve: %s received, stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
  });
  std::printf("weblm serve: listening on http://%s:%d/v1 (model %s, %lld parallel)\n", options.host.c_str(), port,
              options.model_id.c_str(), static_cast<long long>(parallel));
  std::fflush(stdout);
  server.serve();
  // serve() also returns when listening fails; the waiter then still waits for a signal.
  if (!signalled) pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  std::fprintf(stderr, "weblm serve: stopped\n");
  return 0;
}

}  // namespace weblm::cli
