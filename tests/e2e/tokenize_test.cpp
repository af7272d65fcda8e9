// End-to-end: runs the real `ridge tokenize` binary on llama.cpp's Llama
// SentencePiece vocabulary and checks its output, stderr and exit codes.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "common/process.h"

namespace {

using ridge::test::ProcessResult;
using ridge::test::run_process;

ProcessResult tokenize(std::vector<std::string> args, const std::string& stdin_text = "") {
  args.insert(args.begin(), {RIDGE_BINARY, "tokenize"});
  ProcessResult r = run_process(args, stdin_text);
  EXPECT_FALSE(r.signaled) << "ridge tokenize was killed by signal " << r.signal << "\n" << r.err;
  return r;
}

TEST(TokenizeCommand, PrintsIdsAsJsonArray) {
  RIDGE_TESTDATA_OR_SKIP(vocab, "vocab/ggml-vocab-llama-spm.gguf");
  ProcessResult r = tokenize({"-m", vocab.string(), "--ids", "-p", "Hello world"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[1, 15043, 3186]\n");
  EXPECT_EQ(r.err, "");
}

TEST(TokenizeCommand, PrintsOneLinePerTokenWithPiece) {
  RIDGE_TESTDATA_OR_SKIP(vocab, "vocab/ggml-vocab-llama-spm.gguf");
  ProcessResult r = tokenize({"-m", vocab.string(), "-p", "Hello world"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "     1 -> '<s>'\n"
            " 15043 -> ' Hello'\n"
            "  3186 -> ' world'\n");
}

TEST(TokenizeCommand, NoBosAndSpecialTextFlags) {
  RIDGE_TESTDATA_OR_SKIP(vocab, "vocab/ggml-vocab-llama-spm.gguf");
  const std::string m = vocab.string();
  EXPECT_EQ(tokenize({"-m", m, "--ids", "--no-bos", "-p", "Hello world"}).out, "[15043, 3186]\n");
  // "</s>" is the EOS token when special text is parsed, and plain characters otherwise.
  EXPECT_EQ(tokenize({"-m", m, "--ids", "--no-bos", "-p", "Hello</s>"}).out, "[15043, 2]\n");
  ProcessResult plain = tokenize({"-m", m, "--ids", "--no-bos", "--no-parse-special", "-p", "Hello</s>"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "[15043, 829, 29879, 29958]\n");
}

TEST(TokenizeCommand, ReadsTextFromStdin) {
  RIDGE_TESTDATA_OR_SKIP(vocab, "vocab/ggml-vocab-llama-spm.gguf");
  ProcessResult r = tokenize({"-m", vocab.string(), "--ids", "--stdin", "--show-count"}, "Hello world");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[1, 15043, 3186]\nTotal number of tokens: 3\n");
}

TEST(TokenizeCommand, ErrorsGoToStderrWithExitCodeOne) {
  ProcessResult no_model = tokenize({"-p", "hi"});
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_EQ(no_model.out, "");
  EXPECT_NE(no_model.err.find("--model"), std::string::npos) << no_model.err;

  ProcessResult missing = tokenize({"-m", "/nonexistent/model.gguf", "-p", "hi"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("/nonexistent/model.gguf"), std::string::npos) << missing.err;

  ProcessResult unknown = tokenize({"--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("--frobnicate"), std::string::npos) << unknown.err;

  ProcessResult no_value = tokenize({"-m"});
  EXPECT_EQ(no_value.exit_code, 1);
  EXPECT_NE(no_value.err.find("missing value for -m"), std::string::npos) << no_value.err;
}

TEST(TokenizeCommand, NotAModelFileIsAnError) {
  RIDGE_TESTDATA_OR_SKIP(inp, "vocab/ggml-vocab-llama-spm.gguf.inp");
  ProcessResult r = tokenize({"-m", inp.string(), "-p", "hi"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("ridge tokenize:"), std::string::npos) << r.err;
}

TEST(TokenizeCommand, Help) {
  ProcessResult r = tokenize({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--no-parse-special"), std::string::npos);
  EXPECT_NE(r.out.find("--ids"), std::string::npos);
}

}  // namespace
