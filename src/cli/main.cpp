// The `ridge` binary: dispatches to the subcommands.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: ridge <command> [options]\n"
    "\n"
    "commands:\n"
    "  run       generate text from a prompt with a GGUF model\n"
    "  inspect   print a GGUF file's metadata and tensor table\n"
    "  tokenize  print the tokens a model's tokenizer makes of a text\n"
    "  serve     serve a model over an OpenAI-compatible HTTP API, with a chat page\n"
    "  bench     measure prefill/decode tokens/s against bandwidth and FMA rooflines\n"
    "  quantize  convert a model's weights to f16, bf16, q8_0, q4_0, q4_k_m or q6_k\n"
    "  gen-model write a random-weight model of a real shape (benchmarks)\n"
    "\n"
    "Run 'ridge <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  std::string cmd = argv[1];
  if (cmd == "--version") {
    std::puts("ridge 0.1.0");
    return 0;
  }
  if (cmd == "run") return ridge::cli::cmd_run(argc - 1, argv + 1);
  if (cmd == "inspect") return ridge::cli::cmd_inspect(argc - 1, argv + 1);
  if (cmd == "tokenize") return ridge::cli::cmd_tokenize(argc - 1, argv + 1);
  if (cmd == "serve") return ridge::cli::cmd_serve(argc - 1, argv + 1);
  if (cmd == "bench") return ridge::cli::cmd_bench(argc - 1, argv + 1);
  if (cmd == "quantize") return ridge::cli::cmd_quantize(argc - 1, argv + 1);
  if (cmd == "gen-model") return ridge::cli::cmd_gen_model(argc - 1, argv + 1);
  std::fprintf(stderr, "ridge: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 1;
}
