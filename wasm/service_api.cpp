// The OpenAI-shaped chat service (src/api/service.h) as JSON in, JSON out, for the browser SDK.
// JS drives it: weblm_service_submit queues a request; while requests are pending, each step is
// weblm_service_step_submit, then (once weblm_forward_ready) weblm_service_step_complete; after
// each call weblm_service_events hands over what the requests produced, as a JSON array of
//   {"id": 1, "chunk": {...}}                       a stream chunk, exactly as OpenAI streams it
//   {"id": 1, "response": {...}, "stats": {...}}    the whole response when the request is done
//   {"id": 1, "status": 500, "error": {...}}        the request failed after it was accepted
// While a service exists, drive the session's engine only through it.
#include <emscripten/emscripten.h>

#include <cstdint>
#include <memory>
#include <string>

#include "api/service.h"
#include "runtime/model_drafter.h"
#include "runtime/ngram_drafter.h"
#include "wasm/c_api.h"

namespace {

using weblm::api::ApiError;
using weblm::api::Json;
using weblm::wasm::guarded;
using weblm::wasm::SessionHandle;

struct ServiceHandle {
  weblm::api::Service service;
  Json events = Json::array();  // produced since the last weblm_service_events
  std::string text;             // the last string returned

  ServiceHandle(SessionHandle& h, weblm::api::ServiceOptions o)
      : service(h.session.engine(), h.session.tokenizer(), std::move(o)) {}

  // Callbacks run only inside step calls, after submit() has returned the id they report.
  weblm::api::ResponseSink sink(std::shared_ptr<const weblm::api::RequestId> id) {
    return {
        [this, id](const Json& chunk) { events.push_back({{"id", *id}, {"chunk", chunk}}); },
        [this, id](const Json& response, const weblm::api::RequestStats& s) {
          events.push_back({{"id", *id},
                            {"response", response},
                            {"stats",
                             {{"prompt_tokens", s.prompt_tokens},
                              {"cached_tokens", s.cached_tokens},
                              {"completion_tokens", s.completion_tokens},
                              {"queued_ms", s.queued_ms},
                              {"prompt_ms", s.prompt_ms},
                              {"decode_ms", s.decode_ms},
                              {"drafted", s.speculation.drafted},
                              {"accepted", s.speculation.accepted}}}});
        },
        [this, id](const ApiError& e) {
          events.push_back({{"id", *id}, {"status", e.status()}, {"error", e.to_json()["error"]}});
        },
    };
  }
};

weblm::api::Endpoint endpoint_named(const std::string& name) {
  if (name == "chat.completions") return weblm::api::Endpoint::ChatCompletions;
  if (name == "completions") return weblm::api::Endpoint::Completions;
  weblm::fail("unknown endpoint '", name, "' (expected chat.completions or completions)");
}

// The drafter of {"speculation": "ngram"} or {"speculation": "draft", "draft_session": handle}:
// the draft model is another session's (same vocabulary; it must outlive this service). Its
// passes run synchronously inside step_submit, so it must be on the CPU backend: a WebGPU pass
// completes only after the JS event loop turns.
std::shared_ptr<weblm::Drafter> drafter_for(const std::string& mode, SessionHandle* target, SessionHandle* draft) {
  if (mode == "none") return nullptr;
  if (mode == "ngram") return std::make_shared<weblm::NgramDrafter>();
  if (mode != "draft") weblm::fail("service option speculation must be none, ngram or draft, got '", mode, "'");
  if (!draft) weblm::fail("speculation \"draft\" needs the service option draft_session (a session handle)");
  if (draft->session.info()["backend"] != "cpu")
    weblm::fail("the draft session must run on the CPU backend (its passes block inside a step)");
  weblm::require_same_vocabulary(target->session.tokenizer().vocab(), draft->session.tokenizer().vocab());
  const weblm::Engine& engine = target->session.engine();
  return std::make_shared<weblm::ModelDrafter>(draft->session.engine().model(), engine.n_vocab(), engine.options());
}

}  // namespace

extern "C" {

// options_json: {"model_id": "weblm", "cached_sequences": -1, "speculation": "none" | "ngram" |
// "draft", "draft_session": handle, "draft_max": 8} (all optional; see drafter_for).
EMSCRIPTEN_KEEPALIVE ServiceHandle* weblm_service_create(SessionHandle* h, const char* options_json) {
  return guarded("creating the service", static_cast<ServiceHandle*>(nullptr), [&] {
    const Json j = Json::parse(options_json);
    weblm::api::ServiceOptions o;
    std::string speculation = "none";
    SessionHandle* draft = nullptr;
    for (const auto& [key, v] : j.items()) {
      if (key == "model_id" && v.is_string()) o.model_id = v.get<std::string>();
      else if (key == "cached_sequences" && v.is_number_integer()) o.cached_sequences = v.get<int32_t>();
      else if (key == "speculation" && v.is_string()) speculation = v.get<std::string>();
      else if (key == "draft_session" && v.is_number_unsigned())
        draft = reinterpret_cast<SessionHandle*>(static_cast<uintptr_t>(v.get<uint64_t>()));
      else if (key == "draft_max" && v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 64)
        o.draft_max = v.get<int32_t>();
      else weblm::fail("service option '", key, "' is unknown or of the wrong type: ", v.dump());
    }
    o.drafter = drafter_for(speculation, h, draft);
    return new ServiceHandle(*h, std::move(o));
  });
}

EMSCRIPTEN_KEEPALIVE void weblm_service_destroy(ServiceHandle* s) { delete s; }

// Returns {"id": N} or, for a request rejected before any compute, {"status": 400, "error": {...}}
// (OpenAI's error object). -1 / null only for an unparsable body or endpoint name.
EMSCRIPTEN_KEEPALIVE const char* weblm_service_submit(ServiceHandle* s, const char* body_json, const char* endpoint) {
  return guarded("submitting a request", static_cast<const char*>(nullptr), [&] {
    Json result;
    try {
      auto id = std::make_shared<weblm::api::RequestId>(-1);
      *id = s->service.submit(Json::parse(body_json), endpoint_named(endpoint), s->sink(id));
      result = {{"id", *id}};
    } catch (const ApiError& e) {
      result = e.to_json();
      result["status"] = e.status();
    }
    s->text = weblm::api::dump_json(result);
    return s->text.c_str();
  });
}

// 1 when a forward pass was submitted, 0 when there was nothing to compute, -1 on error.
EMSCRIPTEN_KEEPALIVE int32_t weblm_service_step_submit(ServiceHandle* s) {
  return guarded("service step", -1, [&] { return s->service.step_submit() ? 1 : 0; });
}

EMSCRIPTEN_KEEPALIVE int32_t weblm_service_step_complete(ServiceHandle* s) {
  return guarded("service step", -1, [&] {
    s->service.step_complete();
    return 0;
  });
}

EMSCRIPTEN_KEEPALIVE int32_t weblm_service_idle(ServiceHandle* s) { return s->service.idle() ? 1 : 0; }

// 1 when the request was queued or running (it ends with finish_reason "cancelled"), else 0.
EMSCRIPTEN_KEEPALIVE int32_t weblm_service_cancel(ServiceHandle* s, double id) {
  return s->service.cancel(static_cast<weblm::api::RequestId>(id)) ? 1 : 0;
}

// The events since the last call, as a JSON array (see the top of this file).
EMSCRIPTEN_KEEPALIVE const char* weblm_service_events(ServiceHandle* s) {
  s->text = weblm::api::dump_json(s->events);
  s->events = Json::array();
  return s->text.c_str();
}

}  // extern "C"
