#!/usr/bin/env bash
# Every test of weblm: unit tests, llama.cpp oracle tests, bad-input tests (native Release build),
# the parsers' unit tests under AddressSanitizer + UBSan, each libFuzzer target for a bounded
# time, and the core compiled with Emscripten. Installs what it needs first; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
JOBS=$(nproc)
FUZZ_SECONDS=${WEBLM_FUZZ_SECONDS:-30}

step() { echo; echo "=== $* ==="; }

step "native build + unit, oracle and CLI tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j"$JOBS"
ctest --test-dir build --output-on-failure -j1

step "AddressSanitizer + UBSan: parser unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEBLM_SANITIZE=ON >/dev/null
ninja -C build-asan -j"$JOBS" gguf_test safetensors_test tokenizer_test jinja_test api_test wasm_host_test hf_llama_test exchange_test
for t in gguf_test safetensors_test tokenizer_test jinja_test api_test wasm_host_test hf_llama_test exchange_test; do
  "build-asan/$(cd build-asan && find . -name "$t" -type f -perm -u+x | head -1)"
done

step "libFuzzer targets, ${FUZZ_SECONDS}s each"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEBLM_FUZZ=ON -DWEBLM_SANITIZE=ON -DWEBLM_TESTS=OFF >/dev/null
ninja -C build-fuzz -j"$JOBS"
for f in $(find build-fuzz/fuzz -maxdepth 1 -name '*_fuzz' -type f -perm -u+x | sort); do
  name=$(basename "$f")
  corpus="fuzz/corpus/${name%_fuzz}"
  mkdir -p "build-fuzz/corpus-$name"
  seeds=()
  [ -d "$corpus" ] && seeds=("$corpus")
  "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 "build-fuzz/corpus-$name" "${seeds[@]}" 2>&1 | tail -2
done

step "core compiled with Emscripten (wasm32, SIMD128, threads)"
export NODE_PATH=/usr/share/nodejs
emcmake cmake -S . -B build-wasm -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-wasm -j"$JOBS" weblm_core

step "wasm module (threads + single-thread builds): CPU logits against native, in Node and in Chromium"
ninja -C build-wasm -j"$JOBS" wasm
node tests/wasm/logits_parity.mjs --weblm build/src/cli/weblm --work build-wasm/test-logits
node tests/wasm/service.mjs --work build-wasm/test-service --weblm build/src/cli/weblm
node tests/spec/wasm_speculative.mjs --work build-wasm/test-spec --weblm build/src/cli/weblm
node tests/wasm/browser.mjs --weblm build/src/cli/weblm --work build-wasm/test-browser

step "WebGPU backend: op test and whole-model logits against native (Node, Dawn on SwiftShader)"
ninja -C build-wasm -j"$JOBS" weblm_wasm webgpu_op_test
node tests/webgpu/op_test.mjs --reference build/tests/webgpu/webgpu_op_reference \
  --module build-wasm/tests/webgpu/webgpu_op_test.js --work build/webgpu_op_test
node tests/webgpu/model_parity.mjs --weblm build/src/cli/weblm --dist build-wasm/dist --work build/webgpu_models
node tests/spec/wasm_speculative.mjs --work build/webgpu_spec --weblm build/src/cli/weblm --dist build-wasm/dist --webgpu 1

echo; echo "all tests passed"
