// One function per `weblm` subcommand; each takes the arguments after the subcommand name and
// returns the process exit code. Errors are thrown as weblm::Error and reported by main.
#pragma once

#include <string>
#include <vector>

namespace weblm::cli {

using Argv = std::vector<std::string>;

int run_command(const Argv& argv);
int info_command(const Argv& argv);
int logits_command(const Argv& argv);
int tokenize_command(const Argv& argv);
int gen_model_command(const Argv& argv);
int quantize_command(const Argv& argv);
int split_command(const Argv& argv);
int bench_command(const Argv& argv);
int chat_command(const Argv& argv);
int template_command(const Argv& argv);
int complete_command(const Argv& argv);
int demo_command(const Argv& argv);
int serve_command(const Argv& argv);
int convert_command(const Argv& argv);
int perplexity_command(const Argv& argv);

}  // namespace weblm::cli
