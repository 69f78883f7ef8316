// What the commands that generate through the API service (run, chat, complete) share: the
// model, context and thread options, the engine and service they build, and the sampling
// options as OpenAI request fields.
#pragma once

#include <memory>
#include <vector>

#include "api/service.h"
#include "cli/args.h"
#include "cli/loaded_model.h"
#include "runtime/engine.h"

namespace weblm::cli {

// -m, -c, -b, -t, -np, and speculative decoding's --spec, --draft-model, --draft-max
std::vector<OptionSpec> engine_options();

struct ServiceStack {
  LoadedModel model;
  std::unique_ptr<Model> draft_model;  // --draft-model, on the target's backend
  std::unique_ptr<Engine> engine;
  std::unique_ptr<api::Service> service;
};
ServiceStack open_service(const Args& a);

// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --frequency-penalty, --presence-penalty,
// --seed, with llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, seed 0).
std::vector<OptionSpec> sampling_options();
// Sets the request's sampling fields from those options.
void add_sampling(const Args& a, api::Json& request);

}  // namespace weblm::cli
