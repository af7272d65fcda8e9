#!/usr/bin/env bash
# Builds everything and runs the whole test suite: the GoogleTest suites
# (unit, fidelity against real models, end-to-end through the real binary:
# CLI, HTTP with the OpenAI SDK, the chat page in headless Chromium), the model
# suite on the lower kernel paths, then the GGUF mutation test and short
# libFuzzer runs (GGUF reader, chat templates) under AddressSanitizer + UBSan.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${RIDGE_JOBS:-2}"
"$root/scripts/build.sh"
"$root/scripts/setup-node.sh"
echo "== test suite (Release)"
ctest --test-dir "$root/build" --output-on-failure -j "$jobs"

echo "== model fidelity on every lower kernel path (the suite above ran the best one)"
for path in scalar avx2; do
  RIDGE_KERNELS=$path "$root/build/test_model" --gtest_brief=1
done

echo "== GGUF mutation test and fuzz target under ASan+UBSan (clang)"
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_COMPILER=clang++ -DRIDGE_SANITIZE=ON -DRIDGE_FUZZ=ON >/dev/null
cmake --build "$root/build-asan" -j "$jobs" --target test_gguf fuzz_gguf fuzz_chat_template
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$root/build-asan/test_gguf" --gtest_brief=1
corpus="$root/build-asan/fuzz-corpus"
mkdir -p "$corpus"
"$root/build-asan/fuzz_gguf" -max_total_time="${RIDGE_FUZZ_SECONDS:-60}" -max_len=65536 \
  -print_final_stats=1 "$corpus" "$root/fuzz/seeds/gguf" 2>&1 | tail -n 5
echo "== chat-template fuzz target (ASan+UBSan), seeded with the real templates when present"
tcorpus="$root/build-asan/fuzz-corpus-chat"
mkdir -p "$tcorpus"
tseeds="${RIDGE_TEST_DATA:-$root/../shared/testdata}/chat-templates"
[ -d "$tseeds" ] || tseeds=""
"$root/build-asan/fuzz_chat_template" -max_total_time="${RIDGE_FUZZ_SECONDS_CHAT:-30}" -max_len=16384 \
  -print_final_stats=1 "$tcorpus" $tseeds 2>&1 | tail -n 5
echo "== all tests passed"
