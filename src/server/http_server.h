// `weblm serve`'s HTTP side: OpenAI's routes over cpp-httplib (Debian's libcpp-httplib, one
// thread per connection from a pool), in front of the EngineWorker that owns the Service.
//   POST /v1/chat/completions, POST /v1/completions: whole responses, or server-sent events
//        (`data: {chunk}` per chunk, then `data: [DONE]`) when "stream": true
//   GET  /v1/models: the one model served; GET /health: liveness and load (no API key needed)
// Error policy: every error body is OpenAI's {"error": {message, type, param, code}}.
//   400 malformed JSON or an invalid parameter (param names it), 401 missing or wrong API key
//   (when one is set), 404 unknown route, 413 body over the limit, 503 queue full or shutting
//   down, 500 only for a failure of the engine itself. A client that disconnects mid-stream has
//   its request cancelled at once, which frees its KV for the others.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/service.h"

namespace httplib {
class Server;
}

namespace weblm::server {

class EngineWorker;

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked: the server has no TLS
  int port = 8080;                 // 0: any free port (bind() returns it)
  std::string api_key;             // empty: no authentication
  std::string model_id = "weblm";  // what /v1/models lists
  size_t max_body_bytes = 4u << 20;
  int32_t max_active = 64;   // requests running or waiting for KV room; more get 503
  int32_t http_threads = 32;  // connections served at once (a stream holds one while it runs)
};

class Server {
 public:
  // `service` must outlive the server; from here on only the server's engine thread touches it.
  Server(api::Service& service, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port. Error when the address cannot be bound.
  int bind();
  // Serves until stop(); returns once every connection and the engine thread have ended.
  void serve();
  // Graceful stop, from any thread: new requests get 503, running ones are cancelled and their
  // clients receive a well-formed end (streams: the final chunk and [DONE]), then the listener
  // closes. Returns without waiting for serve() to return.
  void stop();

 private:
  void install_routes();

  ServerOptions options_;
  std::unique_ptr<EngineWorker> worker_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<int32_t> open_streams_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace weblm::server
