// `ridge tokenize`: prints the tokens a model's tokenizer makes of a text, one
// `ID -> 'PIECE'` line per token as llama-tokenize does, or only the ids as a
// JSON array. Loads just the GGUF metadata's tokenizer, not the weights.
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace ridge::cli {

namespace {

constexpr const char* kTokenizeHelp =
    "usage: ridge tokenize -m MODEL.gguf (-p TEXT | -f FILE | --stdin) [options]\n"
    "\n"
    "Prints the tokens of TEXT, one 'ID -> 'PIECE'' line per token.\n"
    "\n"
    "  -m, --model FILE        GGUF model or vocabulary file (required)\n"
    "  -p, --prompt TEXT       text to tokenize\n"
    "  -f, --file FILE         read the text from FILE\n"
    "      --stdin             read the text from standard input\n"
    "      --ids               print only the ids, as a JSON array: [1, 15043, 3186]\n"
    "      --no-bos            do not add the BOS/EOS tokens the model asks for\n"
    "      --no-parse-special  treat special-token text (e.g. '<s>') as plain text\n"
    "      --show-count        print the number of tokens at the end\n"
    "  -h, --help              show this help\n";

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  std::string model_path, text, text_file;
  bool have_prompt = false, from_stdin = false, ids_only = false, no_bos = false, no_parse_special = false;
  bool show_count = false;
  try {
    Args a(argc, argv);
    while (a.next()) {
      if (a.is("-h", "--help")) {
        std::fputs(kTokenizeHelp, stdout);
        return 0;
      } else if (a.is("-m", "--model")) {
        model_path = a.value();
      } else if (a.is("-p", "--prompt")) {
        text = a.value();
        have_prompt = true;
      } else if (a.is("-f", "--file")) {
        text_file = a.value();
      } else if (a.is("--stdin")) {
        from_stdin = true;
      } else if (a.is("--ids")) {
        ids_only = true;
      } else if (a.is("--no-bos")) {
        no_bos = true;
      } else if (a.is("--no-parse-special")) {
        no_parse_special = true;
      } else if (a.is("--show-count")) {
        show_count = true;
      } else {
        a.unknown();
      }
    }
    if (model_path.empty()) throw ArgError("missing -m/--model");
    const int sources = int(have_prompt) + int(!text_file.empty()) + int(from_stdin);
    if (sources == 0) throw ArgError("give the text with -p, -f or --stdin");
    if (sources > 1) throw ArgError("give the text with only one of -p, -f and --stdin");
  } catch (const ArgError& e) {
    std::fprintf(stderr, "ridge tokenize: %s\n\n%s", e.what(), kTokenizeHelp);
    return 1;
  }

  try {
    if (!text_file.empty()) {
      std::ifstream in(text_file, std::ios::binary);
      if (!in) throw std::runtime_error("cannot open " + text_file);
      text = read_all(in);
    } else if (from_stdin) {
      text = read_all(std::cin);
    }
    const gguf::File file = gguf::File::open(model_path);
    const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_gguf(file);
    const std::vector<int32_t> ids = tok.encode(text, /*add_special=*/!no_bos, /*parse_special=*/!no_parse_special);

    std::string out;
    if (ids_only) {
      out += '[';
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ", ";
        out += std::to_string(ids[i]);
      }
      out += "]\n";
    } else {
      char id_field[16];
      for (int32_t id : ids) {
        std::snprintf(id_field, sizeof id_field, "%6d", id);
        out += id_field;
        out += " -> '";
        out += tok.token_to_piece(id, /*render_special=*/true);
        out += "'\n";
      }
    }
    if (show_count) out += "Total number of tokens: " + std::to_string(ids.size()) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge tokenize: %s\n", e.what());
    return 1;
  }
}

}  // namespace ridge::cli
