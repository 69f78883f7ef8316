#include "server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "server/engine_worker.h"
#include "util/error.h"

namespace weblm::server {

namespace {

using namespace std::chrono_literals;

void send_json(httplib::Response& res, int status, const api::Json& body) {
  res.status = status;
  res.set_content(api::dump_json(body), "application/json");
}

// Every error answer goes through here, so each is also the request's log line (completions
// that ran are logged by the engine worker, with their token counts and timings).
void send_error(const httplib::Request& req, httplib::Response& res, const api::ApiError& error) {
  std::fprintf(stderr, "weblm serve: %s %s -> %d %s%s%s: %s\n", req.method.c_str(), req.path.c_str(), error.status(),
               error.code().empty() ? error.type().c_str() : error.code().c_str(), error.param().empty() ? "" : " param=",
               error.param().c_str(), error.what());
  send_json(res, error.status(), error.to_json());
}

// The body for an error status httplib set itself (no route, body too large, unreadable request).
api::ApiError error_for_status(const httplib::Request& req, int status, size_t max_body_bytes) {
  switch (status) {
    case 404:
      return api::ApiError(404, "invalid_request_error",
                           str_cat("Unknown request URL: ", req.method, " ", req.path,
                                   ". The routes are POST /v1/chat/completions, POST /v1/completions, "
                                   "GET /v1/models and GET /health."),
                           "", "unknown_url");
    case 413:
      return api::ApiError(413, "invalid_request_error",
                           str_cat("The request body is larger than this server's limit of ", max_body_bytes, " bytes."),
                           "", "request_too_large");
    default:
      return api::ApiError(status, status >= 500 ? "server_error" : "invalid_request_error",
                           str_cat("The request could not be served (HTTP ", status, ")."));
  }
}

bool authorized(const httplib::Request& req, const std::string& api_key) {
  return req.get_header_value("Authorization") == "Bearer " + api_key;
}

}  // namespace

Server::Server(api::Service& service, ServerOptions options)
    : options_(std::move(options)),
      worker_(std::make_unique<EngineWorker>(service, options_.max_active)),
      http_(std::make_unique<httplib::Server>()) {
  const size_t threads = static_cast<size_t>(std::max(options_.http_threads, 1));
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_tcp_nodelay(true);  // each streamed token is a small write: send it now
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind the same port
  // silently and take half the connections: keep only SO_REUSEADDR (quick restarts).
  http_->set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  install_routes();
}

Server::~Server() {
  stop();
  worker_->join();
}

int Server::bind() {
  const int port = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                                      : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port <= 0)
    fail("cannot listen on ", options_.host, ":", options_.port, " (is the address valid and the port free?)");
  return port;
}

void Server::serve() {
  http_->listen_after_bind();
  // Every connection has ended: nothing is left to deliver.
  worker_->stop();
  worker_->join();
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  worker_->stop();
  // Let cancelled requests reach their clients before the listener goes: httplib ends open
  // streams as soon as it stops. Bounded, so a stuck client cannot hold the shutdown.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((worker_->active() > 0 || open_streams_.load() > 0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  http_->stop();
}

void Server::install_routes() {
  httplib::Server& http = *http_;

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options_.api_key.empty() || req.path == "/health" || authorized(req, options_.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(req, res, api::ApiError(401, "invalid_request_error",
                                  req.has_header("Authorization")
                                      ? "Incorrect API key provided. Pass the server's --api-key as 'Authorization: Bearer KEY'."
                                      : "You didn't provide an API key. Pass the server's --api-key as 'Authorization: Bearer KEY'.",
                                  "", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });

  // Called for every status >= 400; fills in only the responses httplib made itself.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_error(req, res, error_for_status(req, res.status, options_.max_body_bytes));
        return httplib::Server::HandlerResponse::Handled;
      }));

  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(req, res, api::server_error(str_cat("The server failed while handling the request: ", what)));
  });

  auto completion = [this](api::Endpoint endpoint) {
    return [this, endpoint](const httplib::Request& req, httplib::Response& res) {
      api::Json body = api::Json::parse(req.body, nullptr, false);
      if (body.is_discarded())
        return send_error(req, res, api::ApiError(400, "invalid_request_error",
                                             "We could not parse the JSON body of your request. (HINT: This likely means "
                                             "you aren't using your HTTP library correctly. The OpenAI API expects a "
                                             "JSON payload.)",
                                             "", "invalid_json"));
      const std::shared_ptr<Exchange> exchange = worker_->submit(std::move(body), endpoint);
      const bool rejected = exchange->wait_submitted() == Exchange::State::Finished && exchange->id() == 0;
      if (rejected) return send_error(req, res, *exchange->error());  // before any compute: a plain error

      if (!exchange->stream()) {
        // Not cancelled when the client leaves: without a stream there is no write to notice it.
        exchange->wait_finished();
        if (exchange->error()) return send_error(req, res, *exchange->error());
        return send_json(res, 200, *exchange->response());
      }

      ++open_streams_;
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider(
          "text/event-stream",
          [this, exchange](size_t, httplib::DataSink& sink) {
            // Wakes at least every 100 ms, so a silent stretch (a long prompt) still notices a
            // client that went away.
            const Exchange::Events got = exchange->take_events(100ms);
            for (const std::string& event : got.events)
              if (!sink.write(event.data(), event.size())) {
                worker_->cancel(exchange);
                return false;
              }
            if (got.finished) {
              sink.done();
              return true;
            }
            if (!sink.is_writable()) {
              worker_->cancel(exchange);
              return false;
            }
            return true;
          },
          [this, exchange](bool success) {
            // Also reached when httplib gave up on the connection before or between writes.
            if (!success) worker_->cancel(exchange);
            --open_streams_;
          });
    };
  };
  http.Post("/v1/chat/completions", completion(api::Endpoint::ChatCompletions));
  http.Post("/v1/completions", completion(api::Endpoint::Completions));

  const int64_t started = static_cast<int64_t>(std::time(nullptr));
  http.Get("/v1/models", [this, started](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200,
              {{"object", "list"},
               {"data", api::Json::array({{{"id", options_.model_id}, {"object", "model"}, {"created", started},
                                           {"owned_by", "weblm"}}})}});
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const bool stopping = stopping_.load();
    send_json(res, stopping ? 503 : 200,
              {{"status", stopping ? "stopping" : "ok"},
               {"model", options_.model_id},
               {"active_requests", worker_->active()},
               {"max_active_requests", worker_->max_active()}});
  });
}

}  // namespace weblm::server
