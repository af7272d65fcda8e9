// `ridge inspect` end to end: runs the real binary on good and corrupt GGUF
// files and checks its output, exit code and that it never dies of a signal.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "common/process.h"
#include "gguf/gguf.h"

namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

RunResult run_ridge(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {RIDGE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const ridge::test::ProcessResult p = ridge::test::run_process(argv);
  RunResult r;
  r.exit_code = p.signaled ? -1 : p.exit_code;
  r.signal = p.signaled ? p.signal : 0;
  r.out = p.out;
  r.err = p.err;
  return r;
}

std::vector<uint8_t> small_model_bytes() {
  using namespace ridge::gguf;
  Writer w;
  w.set("general.architecture", Value::string("llama"));
  w.set("general.name", Value::string("line one\nline \"two\" " + std::string(200, 'x')));
  w.set("llama.block_count", Value::u32(1));
  w.set("llama.attention.layer_norm_rms_epsilon", Value::f32(1e-5f));
  std::vector<std::string> tokens;
  for (int k = 0; k < 1000; ++k) tokens.push_back(k == 0 ? "<unk>" : k == 1 ? "<s>" : "tok" + std::to_string(k));
  w.set("tokenizer.ggml.tokens", Value::string_array(tokens));
  w.set("tokenizer.ggml.scores", Value::f32_array(std::vector<float>(1000, -1.5f)));
  w.set("tokenizer.ggml.add_bos_token", Value::boolean(true));
  w.add_tensor("token_embd.weight", ridge::GgmlType::F32, {4, 1000}, std::vector<uint8_t>(16000));
  w.add_tensor("blk.0.attn_q.weight", ridge::GgmlType::Q8_0, {32, 4}, std::vector<uint8_t>(34 * 4));
  return w.to_bytes();
}

void write_file(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                           static_cast<std::streamsize>(b.size()));
}

TEST(InspectCli, PrintsHeaderMetadataAndTensorTable) {
  const fs::path dir = ridge::test::scratch_dir("inspect-good");
  const fs::path model = dir / "small.gguf";
  write_file(model, small_model_bytes());
  const RunResult r = run_ridge({"inspect", model.string()});
  ASSERT_EQ(r.signal, 0);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const char* want : {"GGUF version: 3", "alignment:    32", "metadata: 7 keys", "general.architecture",
                           "\"llama\"", "uint32", "1e-05", "[1000 strings: \"<unk>\", \"<s>\", \"tok2\", ...]",
                           "[1000 float32: -1.5, -1.5,", "true", "line one\\nline \\\"two\\\"",
                           "tensors: 2", "token_embd.weight", "f32", "[4, 1000]", "blk.0.attn_q.weight", "q8_0",
                           "[32, 4]", "16000"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing \"" << want << "\" in:\n" << r.out;
  }
  EXPECT_EQ(r.out.find("tok999"), std::string::npos) << "long arrays must be abbreviated";
  EXPECT_EQ(r.out.find(std::string(200, 'x')), std::string::npos) << "long strings must be truncated";

  const RunResult full = run_ridge({"inspect", "--full", model.string()});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(full.out.find("\"tok999\""), std::string::npos);
  EXPECT_NE(full.out.find(std::string(200, 'x')), std::string::npos);
}

TEST(InspectCli, RealModel) {
  RIDGE_TESTDATA_OR_SKIP(model, "models/stories260K.gguf");
  const fs::path dir = ridge::test::scratch_dir("inspect-real");
  const RunResult r = run_ridge({"inspect", "-m", model.string()});
  ASSERT_EQ(r.signal, 0);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"metadata: 19 keys", "tensors: 48", "token_embd.weight", "blk.4.ffn_down.weight",
                           "[172, 64]", "[512 strings: \"<unk>\", \"<s>\", \"</s>\", ...]", "f32"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing \"" << want << "\"";
  }
}

TEST(InspectCli, HelpAndUsageErrors) {
  const fs::path dir = ridge::test::scratch_dir("inspect-usage");
  const RunResult help = run_ridge({"inspect", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: ridge inspect"), std::string::npos);
  const RunResult none = run_ridge({"inspect"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no model file given"), std::string::npos) << none.err;
  const RunResult bad_flag = run_ridge({"inspect", "--bogus", "x.gguf"});
  EXPECT_EQ(bad_flag.exit_code, 1);
  EXPECT_NE(bad_flag.err.find("unknown argument: --bogus"), std::string::npos) << bad_flag.err;
  const RunResult missing = run_ridge({"inspect", (dir / "absent.gguf").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("absent.gguf: cannot open"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty());
}

TEST(InspectCli, CorruptFilesFailCleanly) {
  const fs::path dir = ridge::test::scratch_dir("inspect-corrupt");
  const std::vector<uint8_t> good = small_model_bytes();
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* expect;  // in the error message
  };
  std::vector<Case> cases;
  auto with = [&](size_t at, std::vector<uint8_t> patch) {
    std::vector<uint8_t> b = good;
    std::copy(patch.begin(), patch.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
    return b;
  };
  cases.push_back({"bad-magic.gguf", with(0, {'G', 'G', 'M', 'L'}), "not a GGUF file"});
  cases.push_back({"v1.gguf", with(4, {1, 0, 0, 0}), "version 1"});
  cases.push_back({"huge-kv-count.gguf", with(16, std::vector<uint8_t>(8, 0xFF)), "metadata count"});
  cases.push_back({"huge-key-length.gguf", with(24, std::vector<uint8_t>(8, 0xFF)), "key length"});
  cases.push_back({"truncated.gguf", std::vector<uint8_t>(good.begin(), good.begin() + 200), "truncated"});
  cases.push_back({"data-cut.gguf", std::vector<uint8_t>(good.begin(), good.end() - 100), "runs past the end"});
  cases.push_back({"empty.gguf", {}, "truncated"});
  {
    // Retire the first tensor's type id: find its info by name.
    std::vector<uint8_t> b = good;
    const std::string name = "token_embd.weight";
    auto it = std::search(b.begin(), b.end(), name.begin(), name.end());
    ASSERT_NE(it, b.end());
    const size_t type_at = static_cast<size_t>(it - b.begin()) + name.size() + 4 + 2 * 8;
    b[type_at] = 4;
    cases.push_back({"retired-type.gguf", b, "unknown or retired"});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path p = dir / c.name;
    write_file(p, c.bytes);
    const RunResult r = run_ridge({"inspect", p.string()});
    EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "; stderr: " << r.err;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(c.name), std::string::npos) << "message must name the file: " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << "nothing printed for a corrupt file, got: " << r.out;
  }
}

}  // namespace
