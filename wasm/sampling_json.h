// Sampling parameters from the JSON the JS API sends, keyed like SamplingParams' fields.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"

namespace weblm::wasm {

// {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1,
//  "repeat_last_n": 64, "frequency_penalty": 0, "presence_penalty": 0, "seed": 0,
//  "logit_bias": {"15": -100}}, every key optional (SamplingParams' defaults). Error naming an
// unknown key or a value of the wrong type; ranges are checked by the Sampler.
SamplingParams sampling_from_json(const nlohmann::json& j);

}  // namespace weblm::wasm
