// Model quantization: every scheme's output loads in ridge and its logits stay
// near the F32 model's; llama.cpp's per-tensor choices (q4_k_m's Q6_K layers,
// the output matrix, fallbacks for rows that are not whole blocks); metadata
// carried over; bad input refused without leaving an output file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/testdata.h"
#include "gguf/gguf.h"
#include "model/llama.h"
#include "model/quantize_model.h"
#include "model/random_model.h"
#include "tensor/quant.h"

namespace ridge::model {
namespace {

// 8 layers so q4_k_m's "use_more_bits" pattern is visible: layers 0, 3, 6, 7.
// Widths are multiples of 256 so the k-quants apply without fallback.
RandomModelSpec kquant_spec() {
  RandomModelSpec s;
  s.n_vocab = 300, s.n_embd = 256, s.n_layer = 8, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 512, s.seed = 11;
  return s;
}

std::filesystem::path write_model(const RandomModelSpec& s, const std::filesystem::path& dir, const std::string& name) {
  const auto path = dir / name;
  write_random_llama(s, path.string());
  return path;
}

// Logits after each token of a short prompt, fed one at a time.
std::vector<float> logits_of(const std::string& path, const std::vector<int32_t>& prompt) {
  auto m = LlamaModel::load(path);
  kernels::ThreadPool pool(2);
  kv::KvCache cache(m->kv_config(static_cast<int64_t>(prompt.size()) + 1));
  std::vector<float> logits;
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) {
    b.clear();
    b.add(prompt[i], static_cast<int64_t>(i), 0, true);
    m->forward(b, cache, pool, logits);
  }
  return logits;
}

// ||a - b|| / ||b||
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

bool same_value(const gguf::Value& a, const gguf::Value& b) {
  return a.type == b.type && a.u == b.u && a.i == b.i && (a.f == b.f || (a.f != a.f && b.f != b.f)) &&
         a.str == b.str && a.elem == b.elem && a.ints == b.ints && a.floats == b.floats && a.strings == b.strings &&
         a.arrays.size() == b.arrays.size();
}

std::map<std::string, GgmlType> types_of(const gguf::File& f) {
  std::map<std::string, GgmlType> m;
  for (const auto& t : f.tensors()) m[t.name] = t.type;
  return m;
}

TEST(QuantizeModel, EverySchemeLoadsAndStaysNearTheF32Logits) {
  const auto dir = test::scratch_dir("quantize_schemes");
  const auto f32 = write_model(kquant_spec(), dir, "f32.gguf");
  const std::vector<int32_t> prompt = {1, 17, 260, 45, 299, 3};
  const auto ref = logits_of(f32.string(), prompt);
  // Relative logit error allowed per scheme: a few times what each measured
  // (the random weights are uniform, the hardest case for low-bit types).
  // Measured: f16 0.0008, bf16 0.0065, q8_0 0.022, q6_k 0.051, q4_k_m 0.17, q4_0 0.21.
  const std::map<std::string, double> tolerance = {{"f16", 0.003}, {"bf16", 0.02},  {"q8_0", 0.05},
                                                   {"q6_k", 0.1},  {"q4_k_m", 0.3}, {"q4_0", 0.35}};
  std::map<std::string, double> measured;
  for (const auto& [name, tol] : tolerance) {
    const auto info = quant_scheme_from_name(name);
    ASSERT_TRUE(info) << name;
    const auto out = f32.parent_path() / (name + ".gguf");
    const auto result = quantize_model(f32.string(), out.string(), info->scheme);
    EXPECT_LT(result.out_tensor_bytes, result.in_tensor_bytes) << name;
    uint64_t written = 0;
    for (const auto& t : gguf::File::open(out.string()).tensors()) written += t.n_bytes;
    EXPECT_EQ(result.out_tensor_bytes, written) << name;
    const auto got = logits_of(out.string(), prompt);
    ASSERT_EQ(got.size(), ref.size()) << name;
    measured[name] = relative_error(got, ref);
    EXPECT_LT(measured[name], tol) << name;
    EXPECT_GT(measured[name], 0.0) << name << ": the weights must actually have changed";
  }
  // More bits, less error: the schemes' order of precision holds.
  EXPECT_LT(measured["f16"], measured["q8_0"]);
  EXPECT_LT(measured["q8_0"], measured["q6_k"]);
  EXPECT_LT(measured["q6_k"], measured["q4_k_m"]);
  EXPECT_LT(measured["q4_k_m"], measured["q4_0"]);
  for (const auto& [n, e] : measured) std::printf("  %-7s relative logit error %.5f\n", n.c_str(), e);
}

TEST(QuantizeModel, Q4KMUsesQ6KWhereLlamaCppDoes) {
  const auto dir = test::scratch_dir("quantize_q4km");
  const auto f32 = write_model(kquant_spec(), dir, "f32.gguf");
  const auto out = f32.parent_path() / "q4_k_m.gguf";
  quantize_model(f32.string(), out.string(), QuantScheme::Q4_K_M);
  const auto types = types_of(gguf::File::open(out.string()));
  const std::set<int> more_bits = {0, 3, 6, 7};  // i < 8/8, i >= 7*8/8, (i - 1) % 3 == 2
  for (int l = 0; l < 8; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const GgmlType want = more_bits.count(l) ? GgmlType::Q6_K : GgmlType::Q4_K;
    EXPECT_EQ(types.at(b + "attn_v.weight"), want) << l;
    EXPECT_EQ(types.at(b + "ffn_down.weight"), want) << l;
    for (const char* n : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      EXPECT_EQ(types.at(b + n + ".weight"), GgmlType::Q4_K) << b << n;
    EXPECT_EQ(types.at(b + "attn_norm.weight"), GgmlType::F32);
    EXPECT_EQ(types.at(b + "ffn_norm.weight"), GgmlType::F32);
  }
  EXPECT_EQ(types.at("output.weight"), GgmlType::Q6_K);
  EXPECT_EQ(types.at("token_embd.weight"), GgmlType::Q4_K);
  EXPECT_EQ(types.at("output_norm.weight"), GgmlType::F32);

  // The plan says why.
  const auto plan = plan_quantization(gguf::File::open(f32.string()), QuantScheme::Q4_K_M);
  for (const auto& p : plan) {
    if (p.name == "blk.3.attn_v.weight") {
      EXPECT_EQ(p.why, "use_more_bits");
    } else if (p.name == "output.weight") {
      EXPECT_EQ(p.why, "output");
    } else if (p.name == "blk.1.attn_v.weight") {
      EXPECT_EQ(p.why, "");
    } else if (p.name == "blk.1.attn_norm.weight") {
      EXPECT_EQ(p.why, "copied");
    }
  }
}

TEST(QuantizeModel, OutputMatrixRulesAcrossSchemes) {
  const auto dir = test::scratch_dir("quantize_output");
  auto spec = kquant_spec();
  spec.n_layer = 2;
  const auto f32 = write_model(spec, dir, "f32.gguf");
  spec.tied_output = true;
  const auto tied = write_model(spec, dir, "tied.gguf");
  const std::map<std::string, std::pair<GgmlType, GgmlType>> want = {
      // scheme: (output.weight, the base type of the others)
      {"q4_0", {GgmlType::Q6_K, GgmlType::Q4_0}}, {"q8_0", {GgmlType::Q8_0, GgmlType::Q8_0}},
      {"q6_k", {GgmlType::Q6_K, GgmlType::Q6_K}}, {"f16", {GgmlType::F16, GgmlType::F16}},
      {"bf16", {GgmlType::BF16, GgmlType::BF16}}};
  for (const auto& [name, types] : want) {
    const auto scheme = quant_scheme_from_name(name)->scheme;
    const auto out = f32.parent_path() / (name + ".gguf");
    quantize_model(f32.string(), out.string(), scheme);
    auto t = types_of(gguf::File::open(out.string()));
    EXPECT_EQ(t.at("output.weight"), types.first) << name;
    EXPECT_EQ(t.at("token_embd.weight"), types.second) << name;
    EXPECT_EQ(t.at("blk.0.ffn_up.weight"), types.second) << name;
    // Tied: the embedding table makes the logits, so it gets the output's type.
    const auto out_tied = f32.parent_path() / (name + "-tied.gguf");
    quantize_model(tied.string(), out_tied.string(), scheme);
    t = types_of(gguf::File::open(out_tied.string()));
    EXPECT_EQ(t.count("output.weight"), 0u);
    EXPECT_EQ(t.at("token_embd.weight"), types.first) << name << " tied";
    EXPECT_NO_THROW(LlamaModel::load(out_tied.string())) << name;
  }
}

TEST(QuantizeModel, RowsThatAreNotWholeBlocksFallBack) {
  const auto dir = test::scratch_dir("quantize_fallback");
  // Width 64: no k-quant fits; width 48 (heads of 12): not even 32-element blocks.
  auto spec = random_model_shape("tiny");
  const auto w64 = write_model(spec, dir, "w64.gguf");
  spec.n_embd = 48, spec.n_ff = 96;
  const auto w48 = write_model(spec, dir, "w48.gguf");
  struct Case {
    std::filesystem::path in;
    QuantScheme scheme;
    GgmlType matrices;
  };
  for (const auto& c : {Case{w64, QuantScheme::Q4_K_M, GgmlType::Q5_0}, Case{w64, QuantScheme::Q6_K, GgmlType::Q8_0},
                        Case{w48, QuantScheme::Q4_0, GgmlType::F16}, Case{w48, QuantScheme::Q4_K_M, GgmlType::F16},
                        Case{w48, QuantScheme::Q8_0, GgmlType::F16}}) {
    const auto out = c.in.parent_path() / "out.gguf";
    const auto r = quantize_model(c.in.string(), out.string(), c.scheme);
    const auto t = types_of(gguf::File::open(out.string()));
    EXPECT_EQ(t.at("blk.0.attn_q.weight"), c.matrices) << c.in << " " << quant_scheme_info(c.scheme).name;
    for (const auto& p : r.plan) {
      if (p.name == "blk.0.attn_q.weight") {
        EXPECT_NE(p.why.find("not whole"), std::string::npos) << p.why;
      }
    }
    EXPECT_NO_THROW(LlamaModel::load(out.string()));
  }
}

TEST(QuantizeModel, MetadataIsCarriedOverWithTheNewFileType) {
  const auto dir = test::scratch_dir("quantize_meta");
  const auto f32 = write_model(random_model_shape("tiny"), dir, "f32.gguf");
  const auto out = f32.parent_path() / "q8.gguf";
  quantize_model(f32.string(), out.string(), QuantScheme::Q8_0);
  const auto in = gguf::File::open(f32.string());
  const auto q = gguf::File::open(out.string());
  for (const auto& [key, value] : in.metadata()) {
    const auto* got = q.find(key);
    ASSERT_NE(got, nullptr) << key;
    EXPECT_TRUE(same_value(*got, value)) << key;
  }
  EXPECT_EQ(q.get_u32("general.file_type"), 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_EQ(q.get_u32("general.quantization_version"), 2u);
  EXPECT_EQ(q.metadata().size(), in.metadata().size() + 2);
  // The tensor table keeps the order and shapes.
  ASSERT_EQ(q.tensors().size(), in.tensors().size());
  for (size_t i = 0; i < in.tensors().size(); ++i) {
    EXPECT_EQ(q.tensors()[i].name, in.tensors()[i].name);
    EXPECT_EQ(q.tensors()[i].n_dims, in.tensors()[i].n_dims);
    for (int d = 0; d < 4; ++d) EXPECT_EQ(q.tensors()[i].ne[d], in.tensors()[i].ne[d]);
  }
  // LLAMA_FTYPE values of the others.
  for (const auto& [name, ftype] : std::map<std::string, uint32_t>{
           {"f16", 1}, {"bf16", 32}, {"q4_0", 2}, {"q4_k_m", 15}, {"q6_k", 18}, {"Q4_K_M", 15}})
    EXPECT_EQ(quant_scheme_from_name(name)->llama_ftype, ftype) << name;
  EXPECT_FALSE(quant_scheme_from_name("q4_k"));
  EXPECT_FALSE(quant_scheme_from_name(""));
}

TEST(QuantizeModel, TensorsAlreadyInTheTargetTypeAreCopiedBitForBit) {
  const auto dir = test::scratch_dir("quantize_copy");
  auto spec = random_model_shape("tiny");
  spec.type = GgmlType::F16;
  const auto f16 = write_model(spec, dir, "f16.gguf");
  const auto out = f16.parent_path() / "again.gguf";
  const auto r = quantize_model(f16.string(), out.string(), QuantScheme::F16);
  const auto a = gguf::File::open(f16.string()), b = gguf::File::open(out.string());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& ta = a.tensors()[i];
    const auto& tb = b.tensors()[i];
    if (ta.type != GgmlType::F16) continue;
    ASSERT_EQ(tb.type, GgmlType::F16);
    EXPECT_TRUE(std::equal(ta.data, ta.data + ta.n_bytes, tb.data)) << ta.name;
  }
}

TEST(QuantizeModel, BadInputIsRefusedAndLeavesNoOutput) {
  const auto dir = test::scratch_dir("quantize_bad");
  const auto other_dir = test::scratch_dir("quantize_bad2");
  auto spec = random_model_shape("tiny");
  spec.type = GgmlType::Q4_0;
  const auto q4 = write_model(spec, dir, "q4.gguf");
  const auto out = dir / "out.gguf";

  // Already quantized: refused unless asked for.
  try {
    quantize_model(q4.string(), out.string(), QuantScheme::Q8_0);
    ADD_FAILURE() << "re-quantizing must be refused by default";
  } catch (const QuantizeError& e) {
    EXPECT_NE(std::string(e.what()).find("already quantized"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(out));
  QuantizeOptions allow;
  allow.allow_requantize = true;
  EXPECT_NO_THROW(quantize_model(q4.string(), out.string(), QuantScheme::Q8_0, allow));
  EXPECT_NO_THROW(LlamaModel::load(out.string()));
  std::filesystem::remove(out);

  // Same file in and out.
  EXPECT_THROW(quantize_model(q4.string(), q4.string(), QuantScheme::Q4_0), QuantizeError);
  EXPECT_NO_THROW(gguf::File::open(q4.string())) << "the input must survive";

  // Missing and corrupt inputs.
  EXPECT_THROW(quantize_model((dir / "missing.gguf").string(), out.string(), QuantScheme::Q4_0), gguf::Error);
  const auto corrupt = dir / "corrupt.gguf";
  {
    std::ifstream in(q4, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes.resize(bytes.size() / 2);  // data section cut short
    std::ofstream(corrupt, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  EXPECT_THROW(quantize_model(corrupt.string(), out.string(), QuantScheme::Q4_0), gguf::Error);
  EXPECT_FALSE(std::filesystem::exists(out));
  // Output directory that does not exist.
  EXPECT_THROW(quantize_model(write_model(random_model_shape("tiny"), other_dir, "f.gguf").string(),
                              (dir / "no" / "such" / "dir.gguf").string(), QuantScheme::Q4_0),
               gguf::Error);
}

TEST(QuantizeModel, ParallelQuantizationGivesTheSameBytes) {
  std::vector<float> x(37 * 512);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) * 3.f;
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16}) {
    const auto one = quantize_rows_parallel(t, x.data(), 37, 512, 1);
    EXPECT_EQ(one, tensor::quantize(t, x.data(), 37, 512));
    for (int threads : {2, 3, 64}) EXPECT_EQ(quantize_rows_parallel(t, x.data(), 37, 512, threads), one) << threads;
  }
  EXPECT_THROW(quantize_rows_parallel(GgmlType::Q4_K, x.data(), 1, 100, 2), std::invalid_argument);
}

TEST(QuantizeModel, RandomModelStreamingKeepsOneFileForOneSeed) {
  const auto dir = test::scratch_dir("random_stream");
  // write_random_llama streams tensor by tensor; the bytes depend only on the
  // spec and seed, not on the threads quantizing.
  auto spec = kquant_spec();
  spec.type = GgmlType::Q4_0;
  spec.quantize_threads = 1;
  const auto a = write_model(spec, dir, "a.gguf");
  spec.quantize_threads = 3;
  const auto b = write_model(spec, dir, "b.gguf");
  spec.seed += 1;
  const auto c = write_model(spec, dir, "c.gguf");
  auto bytes = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(bytes(a), bytes(b));
  EXPECT_NE(bytes(a), bytes(c));
}

}  // namespace
}  // namespace ridge::model
