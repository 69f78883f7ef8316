// One function per architecture family: fill in what that family does differently from the
// common hyperparameters (read_common_config) — rope layout, norms, scales, windows.
#pragma once

#include "model/model_config.h"

namespace weblm {

class GgufFile;

// The keys every family shares: {arch}.embedding_length, .block_count, .attention.*, .rope.*
ModelConfig read_common_config(const GgufFile& file, const std::string& arch);

void configure_llama(const GgufFile& file, ModelConfig& config);  // llama, mistral3
void configure_qwen(const GgufFile& file, ModelConfig& config);   // qwen2, qwen3
void configure_phi3(const GgufFile& file, ModelConfig& config);   // phi3
void configure_gemma(const GgufFile& file, ModelConfig& config);  // gemma, gemma2, gemma3

}  // namespace weblm
