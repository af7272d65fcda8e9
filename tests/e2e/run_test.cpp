// `ridge run` end to end: the real binary on the real stories260K model
// reproduces the float64 reference's greedy continuation, and bad input gives a
// clear error and a non-zero exit, never a crash.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "common/process.h"

using ridge::test::run_process;

TEST(RunCommand, GreedyContinuationMatchesReference) {
  RIDGE_TESTDATA_OR_SKIP(model, "models/stories260K.gguf");
  RIDGE_TESTDATA_OR_SKIP(ref_path, "models/stories260K.reference.json");
  std::ifstream in(ref_path);
  auto ref = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& c : ref["cases"]) {
    const std::string prompt = c["prompt"].get<std::string>();
    if (prompt.empty()) continue;
    auto gen = c["generated_tokens"].get<std::vector<int>>();
    // ridge run stops at end-of-text; the reference only at BOS. Compare up to the first EOS.
    if (std::find(gen.begin(), gen.end(), 2) != gen.end()) continue;
    // The default F16 KV cache and llama.cpp's -ctk/-ctv f32 both reproduce the reference.
    for (const char* cache : {"f16", "f32"}) {
      auto r = run_process({RIDGE_BINARY, "run", "-m", model.string(), "-p", prompt, "-n",
                            std::to_string(gen.size()), "--temp", "0", "-t", "2", "-ctk", cache, "-ctv", cache});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, c["generated_text"].get<std::string>() + "\n") << "prompt: " << prompt << ", cache " << cache;
      EXPECT_NE(r.err.find("generation:"), std::string::npos) << "timings go to stderr: " << r.err;
      EXPECT_NE(r.err.find("tokens/s"), std::string::npos);
    }
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(RunCommand, ContinuationKeepsTheSpaceBeforeItsFirstWord) {
  RIDGE_TESTDATA_OR_SKIP(model, "models/stories260K.gguf");
  // Greedy after "Once upon a" is "▁time": the space belongs to the output.
  auto r = run_process({RIDGE_BINARY, "run", "-m", model.string(), "-p", "Once upon a", "-n", "3", "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 6), " time,") << r.out;
  // From BOS alone the first word starts the text: no leading space.
  r = run_process({RIDGE_BINARY, "run", "-m", model.string(), "-p", "", "-n", "2", "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 4), "Once") << r.out;
}

TEST(RunCommand, SameSeedSameTextDifferentSeedDifferentText) {
  RIDGE_TESTDATA_OR_SKIP(model, "models/stories260K.gguf");
  auto run = [&](const char* seed) {
    auto r = run_process({RIDGE_BINARY, "run", "-m", model.string(), "-p", "Once upon a time", "-n", "48", "--temp",
                          "1.0", "--seed", seed});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  const auto a = run("42"), b = run("42"), c = run("43");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(RunCommand, BadInputGivesCleanErrors) {
  auto dir = ridge::test::scratch_dir("run-bad");
  {
    std::ofstream(dir / "garbage.gguf") << "this is not a gguf file at all";
  }
  struct Case {
    std::vector<std::string> args;
    std::string mention;
  };
  std::vector<Case> cases = {
      {{"run", "-m", (dir / "missing.gguf").string(), "-p", "x"}, "missing.gguf"},
      {{"run", "-m", (dir / "garbage.gguf").string(), "-p", "x"}, "magic"},
      {{"run", "-p", "x"}, "-m"},
      {{"run", "-m", (dir / "garbage.gguf").string(), "-n", "lots"}, "-n"},
      {{"run", "-m", (dir / "garbage.gguf").string(), "--top-p", "1.5"}, "--top-p"},
      {{"run", "--no-such-flag"}, "--no-such-flag"},
      {{"run", "-m", (dir / "garbage.gguf").string(), "-p", "x", "-ctk", "q8_0"}, "-ctk must be f16 or f32"},
      {{"run", "-m", (dir / "garbage.gguf").string(), "-p", "x", "--cache-type-v", "f32"}, "differ (f16, f32)"},
      {{"serve", "-m", (dir / "garbage.gguf").string(), "-ctv", "bf16"}, "-ctv must be f16 or f32"},
      {{"bench", "-m", (dir / "garbage.gguf").string(), "-ctk", "f32"}, "differ (f32, f16)"},
  };
  for (auto& c : cases) {
    std::vector<std::string> argv = {RIDGE_BINARY};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = run_process(argv);
    EXPECT_EQ(r.exit_code, 1) << c.args.back() << ": " << r.err;
    EXPECT_FALSE(r.signaled) << "crashed on " << c.args.back();
    EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
  }
}

TEST(RunCommand, PromptLongerThanContextIsRefused) {
  RIDGE_TESTDATA_OR_SKIP(model, "models/stories260K.gguf");
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "Once upon a time ";
  auto r = run_process({RIDGE_BINARY, "run", "-m", model.string(), "-p", prompt, "-c", "16", "-n", "4"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
}
