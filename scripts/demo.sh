#!/usr/bin/env bash
# The main job: install, build (native, the wasm module, the browser SDK), then serve the demo
# chat page on the default model with `weblm demo` and print its URL. Open it: the model runs
# in your browser (WebGPU, or WebAssembly on the CPU), not on this server.
#   scripts/demo.sh [--port N] [--host ADDR]      (extra options go to `weblm demo`)
# Until the trained default model lands (models/default.gguf), a random-weight llama model is
# generated instead: it shows the engine working, not meaning.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/build-sdk.sh
MODEL=models/default.gguf
if [ ! -f "$MODEL" ]; then
  MODEL=build/demo-random-llama-q8_0.gguf
  [ -f "$MODEL" ] || build/src/cli/weblm gen-model --arch llama --type q8_0 --dim 256 --layers 4 --heads 8 \
    --kv-heads 2 --ff 768 --n-vocab 2000 -o "$MODEL"
fi
build/src/cli/weblm info "$MODEL" | tail -1
exec build/src/cli/weblm demo --model "$MODEL" "$@"
