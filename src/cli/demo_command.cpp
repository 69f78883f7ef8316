// weblm demo: serves the demo chat page, the browser SDK (sdk/dist: bundles and the wasm
// module) and a GGUF model on this machine, with the cross-origin isolation headers that wasm
// threads need and byte ranges for the model. Inference runs in the visitor's browser; this
// process only serves files.
#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loaded_model.h"
#include "util/error.h"

namespace weblm::cli {

namespace {

namespace fs = std::filesystem;

// The page and the SDK in the source tree (WEBLM_SOURCE_DIR: set for the weblm target), so a
// build tree's binary finds them wherever it runs from.
const fs::path kSdkDir = fs::path(WEBLM_SOURCE_DIR) / "sdk";

void require_dir(const fs::path& dir, const char* what, const char* remedy) {
  if (!fs::is_directory(dir)) fail(what, " not found at ", dir.string(), ": ", remedy);
}

// Streams `path` as the response (the whole file or the requested range, which httplib cuts
// from the provider), never reading it into memory at once.
void serve_file(const fs::path& path, httplib::Response& res) {
  const size_t size = fs::file_size(path);
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  res.set_header("Accept-Ranges", "bytes");
  res.set_content_provider(size, "application/octet-stream",
                           [file](size_t offset, size_t length, httplib::DataSink& sink) {
                             char buffer[1 << 16];
                             file->clear();
                             file->seekg(static_cast<std::streamoff>(offset));
                             while (length > 0) {
                               const size_t n = std::min(length, sizeof buffer);
                               if (!file->read(buffer, static_cast<std::streamsize>(n))) return false;
                               if (!sink.write(buffer, n)) return false;
                               offset += n;
                               length -= n;
                             }
                             return true;
                           });
}

// The hex digest of MODEL.sha256 (`sha256sum` output) when that file is there, else "": the
// page then checks the model's bytes (provenance) as they stream in.
std::string sha256_beside(const fs::path& model) {
  std::ifstream in(model.string() + ".sha256");
  std::string digest;
  if (!(in >> digest)) return "";
  if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail(model.string(), ".sha256 does not start with a sha256 hex digest");
  return digest;
}

}  // namespace

int demo_command(const Argv& argv) {
  const Args a(argv, {
                         {{"-m", "--model"}, true, "GGUF model the page loads by default (default: models/default.gguf)"},
                         {{"--port"}, true, "port to listen on (default 8000; 0 picks a free one)"},
                         {{"--host"}, true, "address to listen on (default 127.0.0.1)"},
                     });
  const fs::path model = model_path(a);
  if (!fs::is_regular_file(model))
    fail("model ", model.string(), " not found: pass --model FILE.gguf (e.g. one made by `weblm gen-model`), ",
         "or run scripts/demo.sh, which provides the default model");
  const fs::path demo_dir = kSdkDir / "demo";
  const fs::path dist_dir = kSdkDir / "dist";
  require_dir(demo_dir, "the demo page", "the source tree is incomplete");
  if (!fs::is_regular_file(dist_dir / "index.js") || !fs::is_regular_file(dist_dir / "wasm" / "weblm.wasm"))
    fail("the SDK is not built (", (dist_dir / "index.js").string(), "): run scripts/build-sdk.sh (it builds the wasm ",
         "module and the SDK), or scripts/demo.sh");
  const std::string host = a.str("--host", "127.0.0.1");
  const int64_t port = a.integer("--port", 8000);
  if (port < 0 || port > 65535) fail("--port ", port, " is not a port number (0..65535)");

  httplib::Server server;
  server.set_default_headers({{"Cross-Origin-Opener-Policy", "same-origin"},
                              {"Cross-Origin-Embedder-Policy", "require-corp"},
                              {"Cross-Origin-Resource-Policy", "same-origin"},
                              {"Cache-Control", "no-cache"}});
  server.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  server.set_file_extension_and_mimetype_mapping("wasm", "application/wasm");
  if (!server.set_mount_point("/sdk", dist_dir.string()) || !server.set_mount_point("/", demo_dir.string()))
    fail("cannot serve ", demo_dir.string(), " and ", dist_dir.string());

  const std::string model_name = model.filename().string();
  const size_t model_size = fs::file_size(model);
  // The page's browser caches the model by URL: the URL names this file's version, so another
  // --model (or a rebuilt file) is downloaded anew rather than read from a stale cache.
  const std::string model_url = str_cat("/model/default.gguf?v=", model_size, "-",
                                        fs::last_write_time(model).time_since_epoch().count());
  const std::string sha256 = sha256_beside(model);
  server.Get("/model/default.gguf", [&](const httplib::Request&, httplib::Response& res) { serve_file(model, res); });
  server.Get("/config.json", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(nlohmann::json{{"model", {{"url", model_url}, {"name", model_name}, {"size", model_size},
                                              {"sha256", sha256.empty() ? nlohmann::json() : nlohmann::json(sha256)}}}}
                        .dump(),
                    "application/json");
  });

  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, static_cast<int>(port)) ? static_cast<int>(port) : -1);
  if (bound < 0) fail("cannot listen on ", host, ":", port, " (in use? pick another with --port)");
  std::printf("weblm demo: serving %s (%.1f MiB); inference runs in your browser\n", model.string().c_str(),
              model_size / 1048576.0);
  std::printf("open http://%s:%d/\n", host.c_str(), bound);
  std::fflush(stdout);
  if (!server.listen_after_bind()) fail("the HTTP server stopped unexpectedly");
  return 0;
}

}  // namespace weblm::cli
