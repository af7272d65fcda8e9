// Class 10 of BAD-INPUTS.md: valid GGUF files that are not usable models.
// Each must fail to load with a model::Error naming the key or tensor at fault.
#include <gtest/gtest.h>

#include <functional>

#include "common/testdata.h"
#include "model/llama.h"
#include "model/random_model.h"

using ridge::gguf::Value;

namespace {

struct Edit {
  std::function<void(std::vector<std::pair<std::string, Value>>&)> kv;
  std::function<bool(const ridge::gguf::TensorInfo&)> drop;              // remove this tensor
  std::function<void(const ridge::gguf::TensorInfo&, std::vector<int64_t>&)> reshape;  // change its declared shape
};

// Writes a copy of a small random model with metadata and tensors edited.
std::string edited_model(const std::string& name, const Edit& e) {
  auto dir = ridge::test::scratch_dir("bad-model-" + name);
  const std::string src = (dir / "src.gguf").string(), dst = (dir / "dst.gguf").string();
  ridge::model::RandomModelSpec spec;
  ridge::model::write_random_llama(spec, src);
  auto f = ridge::gguf::File::open(src);
  auto kv = f.metadata();
  if (e.kv) e.kv(kv);
  ridge::gguf::Writer w;
  for (auto& [k, v] : kv) w.set(k, v);
  for (const auto& t : f.tensors()) {
    if (e.drop && e.drop(t)) continue;
    std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
    std::vector<uint8_t> bytes(t.data, t.data + t.n_bytes);
    if (e.reshape) e.reshape(t, ne);
    int64_t elems = 1;
    for (auto d : ne) elems *= d;
    bytes.resize(ggml_row_bytes(t.type, ne[0]) * (elems / ne[0]));
    w.add_tensor(t.name, t.type, ne, bytes);
  }
  w.write(dst);
  return dst;
}

void set_key(std::vector<std::pair<std::string, Value>>& kv, const std::string& key, Value v) {
  for (auto& [k, old] : kv)
    if (k == key) {
      old = std::move(v);
      return;
    }
  kv.emplace_back(key, std::move(v));
}

void expect_load_error(const std::string& path, const std::string& must_mention) {
  try {
    ridge::model::LlamaModel::load(path);
    FAIL() << "loaded a broken model; expected an error mentioning " << must_mention;
  } catch (const ridge::model::Error& e) {
    EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(BadModel, MissingTensorIsNamed) {
  expect_load_error(edited_model("missing", {.drop = [](auto& t) { return t.name == "blk.1.ffn_up.weight"; }}),
                    "blk.1.ffn_up.weight");
}

TEST(BadModel, HeadsNotDividingWidth) {
  expect_load_error(edited_model("heads", {.kv = [](auto& kv) { set_key(kv, "llama.attention.head_count", Value::u32(5)); }}),
                    "llama.attention.head_count");
}

TEST(BadModel, MoreKvHeadsThanHeads) {
  expect_load_error(
      edited_model("kvheads", {.kv = [](auto& kv) { set_key(kv, "llama.attention.head_count_kv", Value::u32(8)); }}),
      "head_count_kv");
}

TEST(BadModel, ZeroOrAbsurdHyperParameters) {
  expect_load_error(edited_model("zero", {.kv = [](auto& kv) { set_key(kv, "llama.block_count", Value::u32(0)); }}),
                    "llama.block_count");
  expect_load_error(
      edited_model("huge", {.kv = [](auto& kv) { set_key(kv, "llama.embedding_length", Value::u64(1ull << 40)); }}),
      "llama.embedding_length");
}

TEST(BadModel, MissingRequiredKey) {
  expect_load_error(edited_model("nokey", {.kv = [](auto& kv) {
                                   std::erase_if(kv, [](auto& p) { return p.first == "llama.feed_forward_length"; });
                                 }}),
                    "llama.feed_forward_length");
}

TEST(BadModel, UnsupportedArchitecture) {
  expect_load_error(
      edited_model("arch", {.kv = [](auto& kv) { set_key(kv, "general.architecture", Value::string("mamba")); }}),
      "mamba");
}

TEST(BadModel, VocabularySizeDiffersFromEmbeddingRows) {
  expect_load_error(edited_model("vocab", {.kv =
                                               [](auto& kv) {
                                                 for (auto& [k, v] : kv)
                                                   if (k == "tokenizer.ggml.tokens") v.strings.pop_back();
                                               }}),
                    "tokenizer.ggml.tokens");
}

TEST(BadModel, TensorShapeInconsistentWithHyperParameters) {
  expect_load_error(edited_model("shape", {.reshape =
                                               [](auto& t, auto& ne) {
                                                 if (t.name == "blk.0.attn_k.weight") ne[1] = ne[1] * 2;
                                               }}),
                    "blk.0.attn_k.weight");
}

TEST(BadModel, BadRopeSettings) {
  expect_load_error(
      edited_model("rope", {.kv = [](auto& kv) { set_key(kv, "llama.rope.dimension_count", Value::u32(7)); }}),
      "rope.dimension_count");
  expect_load_error(
      edited_model("ropescale", {.kv = [](auto& kv) { set_key(kv, "llama.rope.scaling.type", Value::string("yarn")); }}),
      "yarn");
}

TEST(BadModel, BadTokenAndPositionInBatchAreRejected) {
  auto dir = ridge::test::scratch_dir("bad-batch");
  ridge::model::RandomModelSpec spec;
  ridge::model::write_random_llama(spec, (dir / "m.gguf").string());
  auto m = ridge::model::LlamaModel::load((dir / "m.gguf").string());
  ridge::kernels::ThreadPool pool(1);
  ridge::kv::KvCache cache(m->kv_config(32, 4));
  std::vector<float> logits;
  ridge::model::Batch b;
  b.add(static_cast<int32_t>(spec.n_vocab), 0, 0, true);
  EXPECT_THROW(m->forward(b, cache, pool, logits), std::invalid_argument);
  b.clear();
  b.add(-1, 0, 0, true);
  EXPECT_THROW(m->forward(b, cache, pool, logits), std::invalid_argument);
  b.clear();
  b.add(5, 40, 0, true);  // beyond the 32-position cache
  EXPECT_THROW(m->forward(b, cache, pool, logits), ridge::kv::KvCacheFull);
  EXPECT_EQ(cache.n_used_blocks(), 0);
  EXPECT_TRUE(logits.empty());
}
