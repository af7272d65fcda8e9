// `ridge quantize IN.gguf OUT.gguf TYPE`: converts a model's weights to one of
// llama.cpp's file types with llama.cpp's per-tensor choices (see
// model/quantize_model.h), streaming tensor by tensor.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "kernels/thread_pool.h"
#include "model/quantize_model.h"

namespace ridge::cli {

namespace {

constexpr const char* kQuantizeHelp =
    "usage: ridge quantize [options] IN.gguf OUT.gguf TYPE\n"
    "\n"
    "Writes OUT.gguf with IN.gguf's metadata and its weight matrices converted to\n"
    "TYPE: f16, bf16, q8_0, q4_0, q4_k_m or q6_k. Norms and other 1-D tensors are\n"
    "copied; the output matrix becomes Q6_K for the quantized types (q8_0 keeps\n"
    "Q8_0); q4_k_m gives attn_v and ffn_down Q6_K in llama.cpp's 'use_more_bits'\n"
    "layers; rows that do not fit a type's block fall back as llama.cpp's do.\n"
    "The output loads in llama.cpp. See docs/performance.md.\n"
    "\n"
    "  -t, --threads N       threads (default: all cores)\n"
    "      --allow-requantize  convert tensors that are already quantized\n"
    "  -q, --quiet           no per-tensor lines\n";

}  // namespace

int cmd_quantize(int argc, char** argv) {
  std::vector<std::string> positional;
  model::QuantizeOptions opt;
  opt.threads = kernels::default_thread_count();
  bool quiet = false;
  model::QuantScheme scheme{};
  try {
    Args a(argc, argv);
    while (a.next()) {
      if (a.is("-h", "--help")) {
        std::fputs(kQuantizeHelp, stdout);
        return 0;
      } else if (a.is("-t", "--threads")) {
        opt.threads = static_cast<int>(a.int_value(1, 1024));
      } else if (a.is("--allow-requantize")) {
        opt.allow_requantize = true;
      } else if (a.is("-q", "--quiet")) {
        quiet = true;
      } else if (a.positional()) {
        positional.push_back(a.current());
      } else {
        a.unknown();
      }
    }
    if (positional.size() != 3)
      throw ArgError("expected IN.gguf OUT.gguf TYPE, got " + std::to_string(positional.size()) +
                     " arguments (see ridge quantize --help)");
    const auto info = model::quant_scheme_from_name(positional[2]);
    if (!info)
      throw ArgError("unknown type '" + positional[2] + "' (expected one of " + model::quant_scheme_names() + ")");
    scheme = info->scheme;
  } catch (const ArgError& e) {
    std::fprintf(stderr, "ridge quantize: %s\n", e.what());
    return 1;
  }

  try {
    if (!quiet)
      opt.on_tensor = [](size_t i, size_t n, const model::TensorQuantPlan& p) {
        std::fprintf(stderr, "[%4zu/%4zu] %-36s %6s -> %-6s%s%s\n", i + 1, n, p.name.c_str(),
                     std::string(ggml_type_name(p.from)).c_str(), std::string(ggml_type_name(p.to)).c_str(),
                     p.why.empty() ? "" : "  ", p.why.c_str());
      };
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = model::quantize_model(positional[0], positional[1], scheme, opt);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("quantized %s -> %s (%s): %zu tensors, %.1f MiB -> %.1f MiB, %.1f s\n", positional[0].c_str(),
                positional[1].c_str(), std::string(model::quant_scheme_info(scheme).name).c_str(), r.plan.size(),
                static_cast<double>(r.in_tensor_bytes) / 1048576.0, static_cast<double>(r.out_tensor_bytes) / 1048576.0,
                s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge quantize: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ridge::cli
