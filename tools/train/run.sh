#!/bin/sh
# Trains weblm's default model from scratch: WordNet -> chats -> tokenizer -> Llama -> HF dir.
#   tools/train/run.sh [OUT_DIR] [train.py options...]
# OUT_DIR defaults to build-train/ in the repository. Rerunning resumes training from
# OUT_DIR/ckpt.pt. Runs at nice 19 on at most 2 threads.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build-train}
[ $# -gt 0 ] && shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
py=/usr/bin/python3

[ -d /usr/share/wordnet ] || sudo apt-get install -y wordnet-base

# Debian's python3-torch links libblas.so.3, which is the reference BLAS (~5 GFLOP/s) unless
# another one is installed; OpenBLAS makes training ~10x faster. Unpack it privately rather
# than switching the machine-wide libblas alternative.
blas=$out/openblas/root/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ ! -e "$blas/libblas.so.3" ]; then
    mkdir -p "$out/openblas"
    (cd "$out/openblas" && apt-get download libopenblas0-openmp && dpkg -x libopenblas0-openmp_*.deb root)
fi
export LD_LIBRARY_PATH=$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

[ -e "$out/data/train.jsonl" ] || nice -n 19 $py "$here/make_corpus.py" --out "$out/data"
[ -e "$out/tok/tokenizer.model" ] || nice -n 19 $py "$here/make_tokenizer.py" --text "$out/data/train.txt" --out "$out/tok"
exec nice -n 19 $py "$here/train.py" --data "$out/data" --tokenizer "$out/tok/tokenizer.model" --out "$out/run" "$@"
