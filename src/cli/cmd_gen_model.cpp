// `ridge gen-model`: writes a Llama-architecture model with random weights in a
// real model's shape (TinyLlama-1.1B, Llama-3.2-1B) and any supported type, for
// benchmarks; generated and written one tensor at a time.
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "kernels/thread_pool.h"
#include "model/random_model.h"
#include "tensor/quant.h"

namespace ridge::cli {

namespace {

constexpr const char* kGenModelHelp =
    "usage: ridge gen-model --shape SHAPE --type TYPE -o OUT.gguf [options]\n"
    "\n"
    "Writes a random-weight Llama model (uniform weights, a small SentencePiece-style\n"
    "vocabulary) that ridge and llama.cpp load; for benchmarks, not for text.\n"
    "\n"
    "  --shape SHAPE        tinyllama-1.1b, llama-3.2-1b or tiny (required)\n"
    "  --type TYPE          type of the weight matrices: f32, f16, bf16, q8_0, q4_0,\n"
    "                       q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k (required)\n"
    "  --embd-type TYPE     type of token_embd.weight (default: TYPE)\n"
    "  -o, --output FILE    the GGUF file to write (required)\n"
    "  -s, --seed S         random seed (default 1); same seed, same file\n"
    "  -t, --threads N      threads quantizing (default: all cores)\n";

GgmlType parse_type(const std::string& flag, const std::string& name) {
  const auto t = ggml_type_from_name(name);
  if (!t || !tensor::can_quantize(*t))
    throw ArgError(flag + ": '" + name + "' is not a type ridge can write (see ridge gen-model --help)");
  return *t;
}

}  // namespace

int cmd_gen_model(int argc, char** argv) {
  std::string shape, type_name, embd_type_name, out;
  model::RandomModelSpec spec;
  try {
    Args a(argc, argv);
    uint64_t seed = 1;
    int threads = kernels::default_thread_count();
    while (a.next()) {
      if (a.is("-h", "--help")) {
        std::fputs(kGenModelHelp, stdout);
        return 0;
      } else if (a.is("--shape")) {
        shape = a.value();
      } else if (a.is("--type")) {
        type_name = a.value();
      } else if (a.is("--embd-type")) {
        embd_type_name = a.value();
      } else if (a.is("-o", "--output")) {
        out = a.value();
      } else if (a.is("-s", "--seed")) {
        seed = static_cast<uint64_t>(a.int_value(0, INT64_MAX));
      } else if (a.is("-t", "--threads")) {
        threads = static_cast<int>(a.int_value(1, 1024));
      } else {
        a.unknown();
      }
    }
    if (shape.empty()) throw ArgError("missing --shape (tinyllama-1.1b, llama-3.2-1b or tiny)");
    if (type_name.empty()) throw ArgError("missing --type (e.g. q4_0)");
    if (out.empty()) throw ArgError("missing -o OUT.gguf");
    try {
      spec = model::random_model_shape(shape);
    } catch (const std::invalid_argument& e) {
      throw ArgError(e.what());
    }
    spec.type = parse_type("--type", type_name);
    spec.embd_type = embd_type_name.empty() ? spec.type : parse_type("--embd-type", embd_type_name);
    spec.seed = seed;
    spec.quantize_threads = threads;
  } catch (const ArgError& e) {
    std::fprintf(stderr, "ridge gen-model: %s\n", e.what());
    return 1;
  }

  try {
    const auto t0 = std::chrono::steady_clock::now();
    model::write_random_llama(spec, out);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: %s shape, %s weights, seed %llu, %.1f MiB in %.1f s\n", out.c_str(), shape.c_str(),
                std::string(ggml_type_name(spec.type)).c_str(), static_cast<unsigned long long>(spec.seed),
                static_cast<double>(std::filesystem::file_size(out)) / 1048576.0, s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge gen-model: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ridge::cli
