#!/usr/bin/env bash
# The main job: install, build (native, the wasm module, the browser SDK), then serve the demo
# chat page on the built-in model (models/default.gguf) with `weblm demo` and print its URL. Open
# it: the model runs in your browser (WebGPU, or WebAssembly on the CPU), not on this server.
#   scripts/demo.sh [--port N] [--host ADDR] [--model FILE]      (options go to `weblm demo`)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/build-sdk.sh
build/src/cli/weblm info models/default.gguf | tail -1
exec build/src/cli/weblm demo "$@"
