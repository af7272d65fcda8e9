// Mutation test: thousands of randomly corrupted copies of a real GGUF file
// (byte flips, random bytes, huge counts at count fields, truncations,
// insertions, deletions), each of which must either load or throw gguf::Error.
// Anything else (another exception, a sanitizer report, a crash) fails.
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "gguf/gguf.h"

namespace ridge::gguf {
namespace {

// Byte positions of the structural fields of a valid image: every length,
// count, type id, dimension and offset (the places where a hostile value does
// the most damage). Walked independently of the reader.
struct FieldMap {
  std::vector<size_t> u64_fields;
  std::vector<size_t> u32_fields;
  size_t data_offset = 0;
};

class Walker {
 public:
  explicit Walker(const std::vector<uint8_t>& b) : b_(b) {}
  FieldMap walk(uint64_t alignment) {
    pos_ = 8;
    const uint64_t n_tensors = u64(), n_kv = u64();
    for (uint64_t k = 0; k < n_kv; ++k) {
      str();
      value(static_cast<ValueType>(u32()));
    }
    for (uint64_t k = 0; k < n_tensors; ++k) {
      str();
      const uint32_t n_dims = u32();
      for (uint32_t d = 0; d < n_dims; ++d) u64();
      u32();
      u64();
    }
    map_.data_offset = (pos_ + alignment - 1) / alignment * alignment;
    return map_;
  }

 private:
  template <class T>
  T get(bool record) {
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    if (record) (sizeof(T) == 8 ? map_.u64_fields : map_.u32_fields).push_back(pos_);
    pos_ += sizeof(T);
    return v;
  }
  uint64_t u64(bool record = true) { return get<uint64_t>(record); }
  uint32_t u32(bool record = true) { return get<uint32_t>(record); }
  void str(bool record = true) { pos_ += u64(record); }
  void value(ValueType t, bool record = true) {
    switch (t) {
      case ValueType::STRING: str(record); return;
      case ValueType::ARRAY: {
        const auto elem = static_cast<ValueType>(u32(record));
        const uint64_t n = u64(record);
        // Record the first few elements only: vocab arrays hold thousands.
        for (uint64_t k = 0; k < n; ++k) value(elem, record && k < 8);
        return;
      }
      case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: pos_ += 1; return;
      case ValueType::UINT16: case ValueType::INT16: pos_ += 2; return;
      case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: pos_ += 8; return;
      default: pos_ += 4; return;
    }
  }
  const std::vector<uint8_t>& b_;
  size_t pos_ = 0;
  FieldMap map_;
};

// Reads everything a loaded file exposes, so that a bad view would show up
// under the sanitizers.
uint64_t touch_everything(const File& f) {
  uint64_t h = f.version() + f.alignment() + f.data_offset();
  for (const auto& [key, v] : f.metadata()) {
    h += key.size() + v.array_size() + v.str.size() + v.u;
    for (const auto& s : v.strings) h += s.size();
    for (int64_t x : v.ints) h += static_cast<uint64_t>(x);
    h += v.floats.size() + v.arrays.size();
    EXPECT_EQ(f.find(key), &v);
  }
  for (const TensorInfo& t : f.tensors()) {
    h += t.data[0] + t.data[t.n_bytes - 1] + static_cast<uint64_t>(t.n_elements());
    EXPECT_EQ(f.find_tensor(t.name), &t);
  }
  return h;
}

// A small file with every structural feature, for when the test data is missing.
std::vector<uint8_t> writer_made_base() {
  Writer w;
  w.set("general.architecture", Value::string("llama"));
  w.set("llama.block_count", Value::u32(2));
  w.set("llama.attention.layer_norm_rms_epsilon", Value::f32(1e-5f));
  std::vector<std::string> tokens;
  std::vector<float> scores;
  for (int k = 0; k < 300; ++k) {
    tokens.push_back("tok" + std::to_string(k));
    scores.push_back(-static_cast<float>(k));
  }
  w.set("tokenizer.ggml.tokens", Value::string_array(tokens));
  w.set("tokenizer.ggml.scores", Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", Value::int_array(ValueType::INT32, std::vector<int64_t>(300, 1)));
  w.set("nested", Value::array_of_arrays({Value::i32_array({1, 2}), Value::string_array({"a"})}));
  w.set("flag", Value::boolean(true));
  w.set("big", Value::u64(uint64_t{1} << 40));
  const GgmlType types[] = {GgmlType::F32, GgmlType::F16, GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q6_K};
  for (int k = 0; k < 10; ++k) {
    const GgmlType t = types[k % 5];
    const auto traits = ggml_type_traits(t);
    const int64_t ne0 = traits.block_size * (1 + k % 2);
    w.add_tensor("blk." + std::to_string(k) + ".weight", t, {ne0, 3},
                 std::vector<uint8_t>(ggml_row_bytes(t, ne0) * 3, static_cast<uint8_t>(k)));
  }
  return w.to_bytes();
}

// The real file's metadata and tensor table with each tensor shrunk to one
// block per row, so that thousands of copies are cheap.
std::vector<uint8_t> compact_copy(const File& real) {
  Writer w(real.version(), real.alignment());
  for (const auto& [k, v] : real.metadata()) w.set(k, v);
  for (const TensorInfo& t : real.tensors()) {
    const auto traits = ggml_type_traits(t.type);
    std::vector<int64_t> ne(t.n_dims, 1);
    ne[0] = traits.block_size;
    w.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + traits.block_bytes));
  }
  return w.to_bytes();
}

class Mutator {
 public:
  Mutator(const std::vector<uint8_t>& base, uint64_t alignment, uint64_t seed)
      : base_(base), map_(Walker(base).walk(alignment)), rng_(seed) {}

  std::vector<uint8_t> mutate() {
    std::vector<uint8_t> b = base_;
    const int n = 1 + static_cast<int>(pick(3));  // 1..3 stacked mutations
    for (int k = 0; k < n; ++k) one(b);
    return b;
  }

 private:
  uint64_t pick(uint64_t n) { return n == 0 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  // A position, mostly in the header/metadata/tensor-info region.
  size_t position(const std::vector<uint8_t>& b) {
    if (b.empty()) return 0;
    const size_t meta = std::min(b.size(), map_.data_offset);
    return pick(4) != 0 && meta > 0 ? pick(meta) : pick(b.size());
  }
  uint64_t hostile_u64(const std::vector<uint8_t>& b) {
    const uint64_t small = pick(1024);
    const uint64_t choices[] = {std::numeric_limits<uint64_t>::max(),
                                std::numeric_limits<uint64_t>::max() - small % 64,
                                uint64_t{1} << 63,
                                (uint64_t{1} << 62) + small % 4,
                                uint64_t{1} << 32,
                                0xFFFFFFFFu,
                                b.size(),
                                b.size() + 1 + small % 16,
                                0,
                                1,
                                small,
                                rng_()};
    return choices[pick(std::size(choices))];
  }
  uint32_t hostile_u32() {
    const uint32_t r = static_cast<uint32_t>(rng_());
    const uint32_t choices[] = {0xFFFFFFFFu, 0, 1, 4, 5, 9, 12, 13, 31, 39, 40, 0x80000000u, r % 64, r};
    return choices[pick(std::size(choices))];
  }
  template <class T>
  void poke(std::vector<uint8_t>& b, size_t at, T v) {
    if (at + sizeof(T) <= b.size()) std::memcpy(b.data() + at, &v, sizeof(T));
  }

  void one(std::vector<uint8_t>& b) {
    switch (pick(9)) {
      case 0:  // bit flips
        for (uint64_t k = 0, n = 1 + pick(8); k < n && !b.empty(); ++k) b[position(b)] ^= 1u << pick(8);
        break;
      case 1:  // random bytes
        if (!b.empty()) {
          const size_t at = position(b);
          for (size_t k = at, end = std::min(b.size(), at + 1 + pick(16)); k < end; ++k)
            b[k] = static_cast<uint8_t>(rng_());
        }
        break;
      case 2:  // huge or odd value at a length/count/dimension/offset field
      case 3:
        if (!map_.u64_fields.empty()) {
          // Draws are sequenced one per statement: argument evaluation order
          // differs between compilers, and the test must be deterministic.
          const size_t at = map_.u64_fields[pick(map_.u64_fields.size())];
          const uint64_t v = hostile_u64(b);
          poke(b, at, v);
        }
        break;
      case 4:  // odd value at a type id / n_dims field
        if (!map_.u32_fields.empty()) {
          const size_t at = map_.u32_fields[pick(map_.u32_fields.size())];
          const uint32_t v = hostile_u32();
          poke(b, at, v);
        }
        break;
      case 5:  // truncation
        b.resize(pick(4) == 0 ? pick(b.size() + 1) : position(b));
        break;
      case 6: {  // insertion
        const size_t at = position(b);
        std::vector<uint8_t> ins(1 + pick(16));
        for (auto& x : ins) x = static_cast<uint8_t>(pick(3) == 0 ? 0xFF : rng_());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(std::min(at, b.size())), ins.begin(), ins.end());
        break;
      }
      case 7: {  // deletion
        const size_t at = position(b);
        const size_t n = std::min<size_t>(1 + pick(16), b.size() - std::min(at, b.size()));
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      default:  // off-by-a-little at a field (counts one too big, offsets shifted)
        if (!map_.u64_fields.empty()) {
          const size_t at = map_.u64_fields[pick(map_.u64_fields.size())];
          if (at + 8 <= b.size()) {
            uint64_t v;
            std::memcpy(&v, b.data() + at, 8);
            const uint64_t delta = 1 + pick(64);
            poke(b, at, pick(2) ? v + delta : v - delta);
          }
        }
        break;
    }
  }

  const std::vector<uint8_t>& base_;
  FieldMap map_;
  std::mt19937_64 rng_;
};

struct Tally {
  int loaded = 0;
  int refused = 0;
};

void run_mutations(const std::vector<uint8_t>& base, uint64_t alignment, int count, uint64_t seed, Tally& tally) {
  Mutator m(base, alignment, seed);
  for (int k = 0; k < count; ++k) {
    std::vector<uint8_t> img = m.mutate();
    try {
      File f = File::from_bytes(std::move(img), "mutant");
      touch_everything(f);
      ++tally.loaded;
    } catch (const Error& e) {
      ASSERT_NE(std::string(e.what()).find("mutant"), std::string::npos) << e.what();
      ++tally.refused;
    } catch (const std::exception& e) {
      FAIL() << "mutation #" << k << " (seed " << seed << ") threw a non-gguf exception: " << e.what();
    } catch (...) {
      FAIL() << "mutation #" << k << " (seed " << seed << ") threw a non-exception";
    }
  }
}

TEST(GgufMutation, CorruptedCopiesLoadOrThrowGgufError) {
  std::vector<uint8_t> full, compact;
  uint64_t alignment = kDefaultAlignment;
  if (auto path = ridge::test::testdata_file("models/stories260K.gguf")) {
    File real = File::open(path->string());
    alignment = real.alignment();
    std::ifstream in(*path, std::ios::binary);
    full.assign(std::istreambuf_iterator<char>(in), {});
    compact = compact_copy(real);
  } else {
    compact = writer_made_base();  // never skip: fall back to a file of our own
  }
  ASSERT_NO_THROW(File::from_bytes(compact));

  Tally tally;
  run_mutations(compact, alignment, 2700, 20240601, tally);
  if (!full.empty()) run_mutations(full, alignment, 300, 7, tally);  // full copies are 1 MB each: fewer
  run_mutations(writer_made_base(), kDefaultAlignment, 500, 99, tally);
  std::cout << "[ mutations ] loaded " << tally.loaded << ", refused with gguf::Error " << tally.refused << "\n";
  // Both outcomes must occur, or the mutations are not exercising the reader.
  EXPECT_GT(tally.loaded, 50);
  EXPECT_GT(tally.refused, 1000);
}

}  // namespace
}  // namespace ridge::gguf
