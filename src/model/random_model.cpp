#include "model/random_model.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "gguf/gguf.h"
#include "model/quantize_model.h"
#include "tensor/quant.h"

namespace ridge::model {

namespace {

// splitmix64: tiny, seedable, identical on every platform.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform on [-a, a]: bounded, so low-bit types see no extreme outliers.
  float sym(double a) { return static_cast<float>((2.0 * uniform() - 1.0) * a); }
};

std::string piece_name(int64_t i) {
  std::string s = "\xE2\x96\x81";  // "▁"
  do {
    s += static_cast<char>('a' + i % 26);
    i /= 26;
  } while (i > 0);
  return s;
}

}  // namespace

RandomModelSpec random_model_shape(const std::string& shape) {
  RandomModelSpec s;
  if (shape == "tiny") return s;
  if (shape == "tinyllama-1.1b") {
    s.n_vocab = 32000, s.n_embd = 2048, s.n_layer = 22, s.n_head = 32, s.n_head_kv = 4, s.n_ff = 5632;
    s.name = "random-tinyllama-1.1b";
    return s;
  }
  if (shape == "llama-3.2-1b") {
    s.n_vocab = 128256, s.n_embd = 2048, s.n_layer = 16, s.n_head = 32, s.n_head_kv = 8, s.n_ff = 8192;
    s.rope_freq_base = 500000.0, s.tied_output = true;
    s.name = "random-llama-3.2-1b";
    return s;
  }
  throw std::invalid_argument("unknown model shape '" + shape + "' (tiny, tinyllama-1.1b, llama-3.2-1b)");
}

void write_random_llama(const RandomModelSpec& sp, const std::string& path) {
  if (sp.n_vocab < 259) throw std::invalid_argument("random model: n_vocab must be at least 259");
  if (sp.n_head <= 0 || sp.n_head_kv <= 0 || sp.n_head % sp.n_head_kv != 0 || sp.n_embd % sp.n_head != 0)
    throw std::invalid_argument("random model: heads must divide the width and kv heads must divide heads");
  Rng rng{sp.seed};
  gguf::Writer w;
  const std::string a = "llama.";
  w.set("general.architecture", gguf::Value::string("llama"));
  w.set("general.name", gguf::Value::string(sp.name));
  w.set(a + "context_length", gguf::Value::u32(static_cast<uint32_t>(sp.n_ctx)));
  w.set(a + "embedding_length", gguf::Value::u32(static_cast<uint32_t>(sp.n_embd)));
  w.set(a + "block_count", gguf::Value::u32(static_cast<uint32_t>(sp.n_layer)));
  w.set(a + "feed_forward_length", gguf::Value::u32(static_cast<uint32_t>(sp.n_ff)));
  w.set(a + "attention.head_count", gguf::Value::u32(static_cast<uint32_t>(sp.n_head)));
  w.set(a + "attention.head_count_kv", gguf::Value::u32(static_cast<uint32_t>(sp.n_head_kv)));
  w.set(a + "rope.dimension_count", gguf::Value::u32(static_cast<uint32_t>(sp.n_embd / sp.n_head)));
  w.set(a + "rope.freq_base", gguf::Value::f32(static_cast<float>(sp.rope_freq_base)));
  w.set(a + "attention.layer_norm_rms_epsilon", gguf::Value::f32(1e-5f));

  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  tokens = {"<unk>", "<s>", "</s>"};
  scores = {0.f, 0.f, 0.f};
  types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    scores.push_back(0.f);
    types.push_back(6);
  }
  for (int64_t i = 0; static_cast<int64_t>(tokens.size()) < sp.n_vocab; ++i) {
    tokens.push_back(piece_name(i));
    scores.push_back(-static_cast<float>(i));
    types.push_back(1);
  }
  w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));

  // Tensors are declared first and generated one at a time while the file is
  // written, in declaration order, so the random stream (and the file) is the
  // same as generating them all up front, and memory holds one tensor at most.
  struct PlannedTensor {
    std::string name;
    GgmlType type;
    int64_t cols, rows;  // rows == 0: a 1-D norm vector of `cols`
    double amp;          // matrices: uniform on [-amp, amp]
  };
  std::vector<PlannedTensor> plan;
  auto add_matrix = [&](const std::string& name, GgmlType type, int64_t cols, int64_t rows, double amp) {
    if (cols % ggml_type_traits(type).block_size != 0)
      throw std::invalid_argument("random model: tensor " + name + " has rows of " + std::to_string(cols) +
                                  " elements, not a multiple of " + std::string(ggml_type_name(type)) +
                                  "'s block size");
    plan.push_back({name, type, cols, rows, amp});
  };
  auto add_norm = [&](const std::string& name, int64_t n) { plan.push_back({name, GgmlType::F32, n, 0, 0.0}); };
  const int64_t hd = sp.n_embd / sp.n_head;
  const double in_amp = std::sqrt(3.0 / static_cast<double>(sp.n_embd));
  add_matrix("token_embd.weight", sp.embd_type, sp.n_embd, sp.n_vocab, 1.0);
  for (int64_t l = 0; l < sp.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add_norm(b + "attn_norm.weight", sp.n_embd);
    add_matrix(b + "attn_q.weight", sp.type, sp.n_embd, sp.n_head * hd, in_amp);
    add_matrix(b + "attn_k.weight", sp.type, sp.n_embd, sp.n_head_kv * hd, in_amp);
    add_matrix(b + "attn_v.weight", sp.type, sp.n_embd, sp.n_head_kv * hd, in_amp);
    add_matrix(b + "attn_output.weight", sp.type, sp.n_head * hd, sp.n_embd, in_amp);
    add_norm(b + "ffn_norm.weight", sp.n_embd);
    add_matrix(b + "ffn_gate.weight", sp.type, sp.n_embd, sp.n_ff, in_amp);
    add_matrix(b + "ffn_up.weight", sp.type, sp.n_embd, sp.n_ff, in_amp);
    add_matrix(b + "ffn_down.weight", sp.type, sp.n_ff, sp.n_embd, std::sqrt(3.0 / static_cast<double>(sp.n_ff)));
  }
  add_norm("output_norm.weight", sp.n_embd);
  if (!sp.tied_output) add_matrix("output.weight", sp.type, sp.n_embd, sp.n_vocab, in_amp);

  for (const auto& t : plan) {
    if (t.rows == 0) w.add_tensor_info(t.name, t.type, {t.cols});
    else w.add_tensor_info(t.name, t.type, {t.cols, t.rows});
  }
  w.write_streaming(path, [&](size_t i) {
    const PlannedTensor& t = plan[i];
    if (t.rows == 0) {
      std::vector<float> data(t.cols);
      for (auto& v : data) v = 1.0f + rng.sym(0.2);
      return tensor::quantize(GgmlType::F32, data.data(), 1, t.cols);
    }
    std::vector<float> data(static_cast<size_t>(t.cols * t.rows));
    for (auto& v : data) v = rng.sym(t.amp);
    return quantize_rows_parallel(t.type, data.data(), t.rows, t.cols, sp.quantize_threads);
  });
}

}  // namespace ridge::model
