// `ridge bench`, `ridge quantize` and `ridge gen-model` end to end: the real
// binary on random-weight models it writes itself. bench --json prints one
// valid object per test with the roofline fields; quantize and gen-model write
// files that load; bad input ends in a clear error and exit 1, never a crash.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/process.h"
#include "common/testdata.h"
#include "gguf/gguf.h"

using ridge::test::run_process;
using ridge::test::ProcessResult;

namespace {

std::string gen_tiny(const std::filesystem::path& dir, const std::string& type, const std::string& name) {
  const auto path = (dir / name).string();
  auto r = run_process({RIDGE_BINARY, "gen-model", "--shape", "tiny", "--type", type, "-o", path, "--seed", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    lines.push_back(nlohmann::json::parse(line));  // throws (fails the test) on anything but JSON
  }
  return lines;
}

// `ridge bench -m model ARGS --json`, which must succeed: its lines, one per test.
std::vector<nlohmann::json> bench_json(const std::string& model, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {RIDGE_BINARY, "bench", "-m", model};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  const auto r = run_process(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json_lines(r.out) : std::vector<nlohmann::json>{};
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A failed command: exit 1, a message on stderr naming `what`, no crash.
void expect_clean_failure(const ProcessResult& r, const std::string& what) {
  EXPECT_FALSE(r.signaled) << "crashed with signal " << r.signal << ": " << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << "stderr should mention '" << what << "': " << r.err;
}

}  // namespace

TEST(BenchCommand, JsonLinesCarryTheRequiredFields) {
  const auto dir = ridge::test::scratch_dir("bench_json");
  const auto model = gen_tiny(dir, "q8_0", "tiny-q8.gguf");
  const auto lines = bench_json(model, {"-p", "16", "-n", "9", "-r", "1", "-b", "1,2", "-t", "2", "--bandwidth-mib", "16"});
  ASSERT_EQ(lines.size(), 4u);
  const std::vector<std::string> names = {"pp16", "tg9", "batch1", "batch2"};
  const ridge::gguf::File f = ridge::gguf::File::open(model);
  uint64_t matmul_params = 0;
  for (const auto& t : f.tensors())
    if (t.n_dims == 2 && t.name != "token_embd.weight") matmul_params += static_cast<uint64_t>(t.n_elements());
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& j = lines[i];
    EXPECT_EQ(j.at("test"), names[i]);
    for (const char* key : {"tokens_per_s", "bandwidth_gb_s", "fma_peak_gflops", "bandwidth_share", "fma_peak_ratio",
                            "gflops_effective", "weight_read_gb_s"}) {
      ASSERT_TRUE(j.contains(key) && j[key].is_number()) << key << " in " << j.dump();
      EXPECT_GT(j[key].get<double>(), 0) << key;
    }
    EXPECT_EQ(j.at("threads"), 2);
    EXPECT_EQ(j.at("model"), model);
    EXPECT_EQ(j.at("type"), "q8_0");
    EXPECT_EQ(j.at("repetitions"), 1);
    EXPECT_FALSE(j.at("kernel_path").get<std::string>().empty());
    // The decode kernels' request for lines ahead, and the probe's (the fastest it found).
    EXPECT_FALSE(j.at("line_prefetch").get<std::string>().empty());
    EXPECT_TRUE(j.at("amx").is_boolean());
    const int load_bytes = j.at("bandwidth_load_bytes");
    EXPECT_TRUE(load_bytes == 8 || load_bytes == 32 || load_bytes == 64) << load_bytes;
    const std::string probe_lines = j.at("bandwidth_line_prefetch");
    EXPECT_TRUE(probe_lines == "none" || probe_lines == "prefetchnta" || probe_lines == "prefetcht0" ||
                probe_lines == "prefetcht1")
        << probe_lines;
    EXPECT_EQ(j.at("samples_tokens_per_s").size(), 1u);
    EXPECT_EQ(j.at("matmul_params").get<uint64_t>(), matmul_params);
    // The derived fields follow from tokens/s and the measured rooflines.
    const double tps = j["tokens_per_s"];
    EXPECT_NEAR(j["gflops_effective"].get<double>(), 2.0 * static_cast<double>(matmul_params) * tps / 1e9,
                1e-9 * j["gflops_effective"].get<double>() + 1e-12);
    EXPECT_NEAR(j["fma_peak_ratio"].get<double>(), j["gflops_effective"].get<double>() / j["fma_peak_gflops"].get<double>(),
                1e-9);
    // The share is each repetition's rate against the mean rate of the read
    // passes around it and, for decode, after every 8 steps within it (here one
    // repetition: 2 passes for the prefill, 3 for 9 decode steps); the best
    // pass of the whole benchmark bounds that mean.
    EXPECT_EQ(j.at("bandwidth_passes_per_run"), i == 0 ? 2 : 3) << names[i];
    EXPECT_NEAR(j["bandwidth_share_of_best"].get<double>(),
                j["weight_read_gb_s"].get<double>() / j["bandwidth_gb_s"].get<double>(), 1e-9);
    ASSERT_EQ(j.at("samples_bandwidth_share").size(), 1u);
    ASSERT_EQ(j.at("samples_bandwidth_gb_s").size(), 1u);
    const double roofline = j["samples_bandwidth_gb_s"][0];
    EXPECT_LE(roofline, j["bandwidth_gb_s"].get<double>() * (1 + 1e-12));
    EXPECT_NEAR(j["samples_bandwidth_share"][0].get<double>(), j["weight_read_gb_s"].get<double>() / roofline, 1e-9);
    EXPECT_NEAR(j["bandwidth_share"].get<double>(), j["samples_bandwidth_share"][0].get<double>(), 1e-12);
  }
  EXPECT_EQ(lines[0].at("n_prompt"), 16);
  EXPECT_EQ(lines[1].at("n_gen"), 9);
  EXPECT_EQ(lines[3].at("n_seqs"), 2);
  // Decode reads the weights once per pass: weight GB/s = passes/s x bytes; batch2 makes a pass per 2 tokens.
  const double bytes = lines[1]["weight_bytes_per_pass"];
  EXPECT_NEAR(lines[1]["weight_read_gb_s"].get<double>(), lines[1]["tokens_per_s"].get<double>() * bytes / 1e9, 1e-9);
  EXPECT_NEAR(lines[3]["weight_read_gb_s"].get<double>(), lines[3]["tokens_per_s"].get<double>() / 2 * bytes / 1e9, 1e-9);
}

TEST(BenchCommand, DepthNamesTheTestsAndIsReported) {
  // -d: every test starts on a context already that long, named as llama-bench names it.
  const auto dir = ridge::test::scratch_dir("bench_depth");
  const auto model = gen_tiny(dir, "q4_0", "tiny.gguf");
  const auto lines = bench_json(model, {"-p", "4", "-n", "3", "-d", "40", "-b", "2", "-r", "1", "--bandwidth-mib", "8"});
  ASSERT_EQ(lines.size(), 3u);
  const std::vector<std::string> names = {"pp4 @ d40", "tg3 @ d40", "batch2 @ d40"};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].at("test"), names[i]);
    EXPECT_EQ(lines[i].at("n_depth"), 40);
    EXPECT_GT(lines[i].at("tokens_per_s").get<double>(), 0);
  }
  auto table = run_process({RIDGE_BINARY, "bench", "-m", model, "-p", "0", "-n", "2", "-d", "17", "-r", "1",
                            "--bandwidth-mib", "8"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("| tg2 @ d17 |"), std::string::npos) << table.out;
  const auto plain = bench_json(model, {"-p", "0", "-n", "2", "-r", "1", "--bandwidth-mib", "8"});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].at("n_depth"), 0);
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", model, "-d", "-3"}), "-d");
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", model, "-d", "many"}), "-d");
}

TEST(BenchCommand, TableNamesTheKernelPathAndRooflines) {
  const auto dir = ridge::test::scratch_dir("bench_table");
  const auto model = gen_tiny(dir, "f32", "tiny.gguf");
  auto r = run_process({RIDGE_BINARY, "bench", "-m", model, "-p", "8", "-n", "2", "-r", "2", "--bandwidth-mib", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"kernels:", "streaming read", "FMA peak", "| pp8", "| tg2", "GFLOP/s", "/ bandwidth"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << " in:\n" << r.out;
  EXPECT_EQ(r.out.find("batch"), std::string::npos) << "no batched tests unless -b asks";
}

// One tg2 run of a tiny Q4_0 model with the environment variable `name` set
// to `value` for the child process, its single JSON line.
static nlohmann::json tg2_with_env(const char* dir_name, const char* name, const char* value) {
  const auto dir = ridge::test::scratch_dir(dir_name);
  const auto model = gen_tiny(dir, "q4_0", "tiny.gguf");
  ::setenv(name, value, 1);
  const auto lines = bench_json(model, {"-p", "0", "-n", "2", "-r", "1", "--bandwidth-mib", "8"});
  ::unsetenv(name);
  EXPECT_EQ(lines.size(), 1u);
  return lines.empty() ? nlohmann::json::object() : lines[0];
}

TEST(BenchCommand, ForcedKernelPathIsReported) {
  const auto line = tg2_with_env("bench_scalar", "RIDGE_KERNELS", "scalar");
  EXPECT_EQ(line.value("test", ""), "tg2");
  EXPECT_EQ(line.value("kernel_path", ""), "scalar");
  EXPECT_EQ(line.value("amx", true), false) << "AMX only beside the AVX-512 path";
}

TEST(BenchCommand, ForcedLinePrefetchIsReported) {
  EXPECT_EQ(tg2_with_env("bench_prefetch", "RIDGE_PREFETCH", "t0").value("line_prefetch", ""), "prefetcht0");
}

TEST(BenchCommand, BadInputFailsCleanly) {
  const auto dir = ridge::test::scratch_dir("bench_bad");
  const auto model = gen_tiny(dir, "f32", "tiny.gguf");
  expect_clean_failure(run_process({RIDGE_BINARY, "bench"}), "missing -m");
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", (dir / "none.gguf").string()}), "none.gguf");
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", model, "-b", "1,x"}), "-b");
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", model, "-b", "2", "-n", "0"}), "-n");
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", model, "-r", "0"}), "-r");
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", model, "--bogus"}), "--bogus");
  const auto corrupt = (dir / "corrupt.gguf").string();
  std::string bytes = slurp(model);
  std::ofstream(corrupt, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  expect_clean_failure(run_process({RIDGE_BINARY, "bench", "-m", corrupt, "-p", "4", "-n", "1"}), "corrupt.gguf");
}

TEST(GenModelCommand, WritesALoadableModelDeterministically) {
  const auto dir = ridge::test::scratch_dir("gen_model");
  const auto a = gen_tiny(dir, "q4_0", "a.gguf");
  const auto b = gen_tiny(dir, "q4_0", "b.gguf");
  EXPECT_EQ(slurp(a), slurp(b)) << "same seed, same file";
  const auto f = ridge::gguf::File::open(a);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight")->type, ridge::GgmlType::Q4_0);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->type, ridge::GgmlType::Q4_0);
  EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, ridge::GgmlType::F32);
  auto r = run_process({RIDGE_BINARY, "run", "-m", a, "-p", "a b", "-n", "3", "--temp", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_process({RIDGE_BINARY, "gen-model", "--shape", "tiny", "--type", "q8_0", "--embd-type", "f16", "-o",
                   (dir / "c.gguf").string(), "-s", "9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ridge::gguf::File::open((dir / "c.gguf").string()).find_tensor("token_embd.weight")->type,
            ridge::GgmlType::F16);
}

TEST(GenModelCommand, BadInputFailsCleanly) {
  const auto dir = ridge::test::scratch_dir("gen_model_bad");
  const auto out = (dir / "x.gguf").string();
  expect_clean_failure(run_process({RIDGE_BINARY, "gen-model", "--shape", "gpt-9", "--type", "q4_0", "-o", out}),
                       "gpt-9");
  expect_clean_failure(run_process({RIDGE_BINARY, "gen-model", "--shape", "tiny", "--type", "q9_9", "-o", out}), "q9_9");
  expect_clean_failure(run_process({RIDGE_BINARY, "gen-model", "--shape", "tiny", "--type", "q4_0"}), "-o");
  expect_clean_failure(run_process({RIDGE_BINARY, "gen-model", "--type", "q4_0", "-o", out}), "--shape");
  // The tiny shape's rows of 64 are not whole Q4_K blocks (256).
  expect_clean_failure(run_process({RIDGE_BINARY, "gen-model", "--shape", "tiny", "--type", "q4_k", "-o", out}),
                       "block size");
  expect_clean_failure(run_process({RIDGE_BINARY, "gen-model", "--shape", "tiny", "--type", "q4_0", "-o",
                                    (dir / "no" / "dir" / "x.gguf").string()}),
                       "x.gguf");
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(QuantizeCommand, QuantizesAndTheOutputRuns) {
  const auto dir = ridge::test::scratch_dir("quantize_cmd");
  const auto in = gen_tiny(dir, "f32", "f32.gguf");
  for (const char* type : {"q8_0", "Q4_K_M", "f16"}) {
    const auto out = (dir / (std::string(type) + ".gguf")).string();
    auto r = run_process({RIDGE_BINARY, "quantize", in, out, type});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("quantized"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("token_embd.weight"), std::string::npos) << "per-tensor lines on stderr: " << r.err;
    r = run_process({RIDGE_BINARY, "run", "-m", out, "-p", "a b", "-n", "2", "--temp", "0"});
    EXPECT_EQ(r.exit_code, 0) << type << ": " << r.err;
  }
  EXPECT_EQ(ridge::gguf::File::open((dir / "q8_0.gguf").string()).get_u32("general.file_type"), 7u);
  auto r = run_process({RIDGE_BINARY, "quantize", "-q", in, (dir / "quiet.gguf").string(), "q4_0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(QuantizeCommand, BadInputFailsCleanly) {
  const auto dir = ridge::test::scratch_dir("quantize_cmd_bad");
  const auto in = gen_tiny(dir, "f32", "f32.gguf");
  const auto out = (dir / "out.gguf").string();
  expect_clean_failure(run_process({RIDGE_BINARY, "quantize", in, out, "q3_xl"}), "unknown type 'q3_xl'");
  expect_clean_failure(run_process({RIDGE_BINARY, "quantize", in, out}), "expected IN.gguf OUT.gguf TYPE");
  expect_clean_failure(run_process({RIDGE_BINARY, "quantize", (dir / "missing.gguf").string(), out, "q4_0"}),
                       "missing.gguf");
  const auto corrupt = (dir / "corrupt.gguf").string();
  std::string bytes = slurp(in);
  bytes[0] = 'X';  // bad magic
  std::ofstream(corrupt, std::ios::binary) << bytes;
  expect_clean_failure(run_process({RIDGE_BINARY, "quantize", corrupt, out, "q4_0"}), "corrupt.gguf");
  std::ofstream(corrupt, std::ios::binary | std::ios::trunc) << slurp(in).substr(0, 1000);  // truncated
  expect_clean_failure(run_process({RIDGE_BINARY, "quantize", corrupt, out, "q4_0"}), "corrupt.gguf");
  expect_clean_failure(run_process({RIDGE_BINARY, "quantize", in, in, "q4_0"}), "input file");
  const auto q4 = gen_tiny(dir, "q4_0", "q4.gguf");
  expect_clean_failure(run_process({RIDGE_BINARY, "quantize", q4, out, "q8_0"}), "already quantized");
  EXPECT_FALSE(std::filesystem::exists(out));
  auto r = run_process({RIDGE_BINARY, "quantize", "--allow-requantize", q4, out, "q8_0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}
