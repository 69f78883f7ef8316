#!/usr/bin/env bash
# Configures and builds weblm natively (Release) into build/; extra CMake args pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build
