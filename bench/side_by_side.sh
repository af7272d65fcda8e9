#!/usr/bin/env bash
# ridge and llama.cpp side by side on one GGUF file: alternating runs of
# `ridge bench --json` and llama.cpp (prebuilt, via npm node-llama-cpp pinned
# to 3.21.1 in bench/node), then a table of medians and ratios.
#
# usage: bench/side_by_side.sh MODEL.gguf [options]
#   --ridge PATH        the ridge binary (default: $RIDGE or build/ridge)
#   -t N                ridge's threads (default 2)
#   --llama-threads "1 2"  llama.cpp thread counts; its best is compared (default "1 2":
#                       through node-llama-cpp llama.cpp loses much of its 2-thread
#                       decode speed to thread barriers, so both are measured)
#   -r N                rounds; each round runs every engine once (default 3)
#   -p N, -n N          prompt and generated tokens (default 512, 128)
#   -d N                context already held when each test starts (default 0), as llama-bench -d
#   -b LIST             also ridge's batched decode, e.g. 1,8 (llama.cpp: not measured)
#   --out DIR           keep the raw JSON lines there (default: a temporary directory)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ridge=${RIDGE:-$here/../build/ridge}
threads=2 llama_threads="1 2" rounds=3 n_prompt=512 n_gen=128 n_depth=0 batches="" out=""
model=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ridge) ridge=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    --llama-threads) llama_threads=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -p) n_prompt=$2; shift 2 ;;
    -n) n_gen=$2; shift 2 ;;
    -d) n_depth=$2; shift 2 ;;
    -b) batches=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "side_by_side: unknown option $1" >&2; exit 1 ;;
    *) model=$1; shift ;;
  esac
done
[ -n "$model" ] || { echo "usage: bench/side_by_side.sh MODEL.gguf [options] (see --help)" >&2; exit 1; }
[ -f "$model" ] || { echo "side_by_side: $model: no such file" >&2; exit 1; }
[ -x "$ridge" ] || { echo "side_by_side: $ridge is not an executable ridge (build it or pass --ridge)" >&2; exit 1; }

# llama.cpp: the pinned package and its prebuilt CPU binaries, no compiling.
# --omit=optional skips the CUDA and Vulkan builds (hundreds of MB); the linux
# x64 CPU build is a direct dependency in bench/node/package.json.
prebuilt="$here/node/node_modules/@node-llama-cpp/linux-x64/bins"
if [ ! -d "$prebuilt" ]; then
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "side_by_side: bench/node pins llama.cpp's prebuilt linux x64 binaries; this is $(uname -s)-$(uname -m)" >&2
    exit 1
  fi
  npm view node-llama-cpp@3.21.1 version >/dev/null 2>&1 ||
    { echo "side_by_side: the npm registry is not reachable (npm view node-llama-cpp@3.21.1 failed)" >&2; exit 1; }
  echo "installing node-llama-cpp 3.21.1 (npm ci in bench/node)..." >&2
  (cd "$here/node" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --omit=optional --no-audit --no-fund >&2)
  [ -d "$prebuilt" ] || { echo "side_by_side: no prebuilt llama.cpp binaries in $prebuilt" >&2; exit 1; }
fi

[ -n "$out" ] || out=$(mktemp -d /tmp/ridge-side-by-side.XXXXXX)
mkdir -p "$out"
: > "$out/ridge.jsonl"
: > "$out/llama_cpp.jsonl"
batch_args=()
[ -n "$batches" ] && batch_args=(-b "$batches")

echo "model: $model   rounds: $rounds   ridge threads: $threads   llama.cpp threads: $llama_threads" >&2
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds: ridge" >&2
  "$ridge" bench -m "$model" -p "$n_prompt" -n "$n_gen" -d "$n_depth" -t "$threads" -r 1 "${batch_args[@]}" --json >> "$out/ridge.jsonl"
  for lt in $llama_threads; do
    echo "round $round/$rounds: llama.cpp, $lt threads" >&2
    node "$here/llama_cpp_bench.mjs" "$model" -p "$n_prompt" -n "$n_gen" -d "$n_depth" -t "$lt" -r 1 >> "$out/llama_cpp.jsonl"
  done
done
echo "raw results: $out" >&2
node "$here/side_by_side_summary.mjs" "$out/ridge.jsonl" "$out/llama_cpp.jsonl"
