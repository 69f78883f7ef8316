#!/usr/bin/env bash
# The main job: install, build, and run weblm on the embedded default model. Until the trained
# default model lands (models/default.gguf, issue 7), it generates a random-weight llama model
# and streams text from it, which shows the engine working but not meaning.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
MODEL=models/default.gguf
if [ ! -f "$MODEL" ]; then
  MODEL=build/demo-random-llama-q8_0.gguf
  [ -f "$MODEL" ] || build/src/cli/weblm gen-model --arch llama --type q8_0 --dim 256 --layers 4 --heads 8 \
    --kv-heads 2 --ff 768 --n-vocab 2000 -o "$MODEL"
fi
build/src/cli/weblm info "$MODEL" | tail -1
build/src/cli/weblm run -m "$MODEL" -p "${1:-Once upon a time}" -n 64 --temp 0.7 --seed 1
