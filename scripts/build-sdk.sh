#!/usr/bin/env bash
# Builds the browser SDK (sdk/dist): the wasm module first (threads + single-thread builds, in
# the wasm build directory, default build-wasm), then the package (tsc + esbuild, wasm files
# copied in). Incremental and safe to run again.
#   scripts/build-sdk.sh [WASM_BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BUILD=${1:-build-wasm}
export NODE_PATH=/usr/share/nodejs  # Emscripten 3.1.6 needs Debian's node-acorn
[ -f "$WASM_BUILD/build.ninja" ] || emcmake cmake -S . -B "$WASM_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$WASM_BUILD" -j"$(nproc)" wasm
node sdk/scripts/build.mjs --wasm-dist "$WASM_BUILD/dist"
