// GGUF writer: lays out header, metadata, tensor infos and tensor data exactly
// as the spec (and llama.cpp's loader) expects: little-endian, the data section
// and every tensor padded to the alignment, tensors in insertion order; either
// from memory or streamed, each tensor's bytes produced just before they are written.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "gguf/gguf.h"

namespace ridge::gguf {
namespace {

class ByteSink {
 public:
  std::vector<uint8_t> bytes;
  template <class T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  void put_raw(const void* p, size_t n) {
    const size_t at = bytes.size();
    bytes.resize(at + n);
    if (n) std::memcpy(bytes.data() + at, p, n);
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    put_raw(s.data(), s.size());
  }
  void pad_to(uint64_t alignment) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
  }
};

bool is_unsigned(ValueType t) {
  return t == ValueType::UINT8 || t == ValueType::UINT16 || t == ValueType::UINT32 || t == ValueType::UINT64 ||
         t == ValueType::BOOL;
}

void check_float32(double f, const std::string& where) {
  if (std::isfinite(f) && std::fabs(f) > std::numeric_limits<float>::max())
    throw Error("gguf writer: " + where + ": " + std::to_string(f) + " does not fit float32");
}

// Checks that `v` can be written as declared; `where` names the key.
void validate_value(const Value& v, const std::string& where, int depth) {
  if (static_cast<uint32_t>(v.type) > static_cast<uint32_t>(ValueType::FLOAT64))
    throw Error("gguf writer: " + where + ": value type id " + std::to_string(static_cast<uint32_t>(v.type)) +
                " is not a GGUF value type");
  if (is_integer(v.type) || v.type == ValueType::BOOL) {
    const bool fits = is_unsigned(v.type)
                          ? (v.type == ValueType::UINT64 ||
                             (v.u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                              int_fits(v.type, static_cast<int64_t>(v.u))))
                          : int_fits(v.type, v.i);
    if (!fits)
      throw Error("gguf writer: " + where + ": value " +
                  (is_unsigned(v.type) ? std::to_string(v.u) : std::to_string(v.i)) + " does not fit " +
                  std::string(value_type_name(v.type)));
    return;
  }
  if (v.type == ValueType::FLOAT32) return check_float32(v.f, where);
  if (v.type != ValueType::ARRAY) return;
  if (depth >= kMaxArrayDepth)
    throw Error("gguf writer: " + where + ": arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
  if (static_cast<uint32_t>(v.elem) > static_cast<uint32_t>(ValueType::FLOAT64))
    throw Error("gguf writer: " + where + ": array element type id " +
                std::to_string(static_cast<uint32_t>(v.elem)) + " is not a GGUF value type");
  const bool ints = is_integer(v.elem) || v.elem == ValueType::BOOL;
  const bool floats = is_float(v.elem);
  const bool strings = v.elem == ValueType::STRING;
  const bool arrays = v.elem == ValueType::ARRAY;
  if ((!ints && !v.ints.empty()) || (!floats && !v.floats.empty()) || (!strings && !v.strings.empty()) ||
      (!arrays && !v.arrays.empty()))
    throw Error("gguf writer: " + where + ": array declared of " + std::string(value_type_name(v.elem)) +
                " holds elements of another type");
  for (size_t k = 0; k < v.ints.size(); ++k)
    if (!int_fits(v.elem, v.ints[k]))
      throw Error("gguf writer: " + where + ": element " + std::to_string(k) + " = " + std::to_string(v.ints[k]) +
                  " does not fit " + std::string(value_type_name(v.elem)));
  if (v.elem == ValueType::FLOAT32)
    for (size_t k = 0; k < v.floats.size(); ++k) check_float32(v.floats[k], where + " element " + std::to_string(k));
  for (size_t k = 0; k < v.arrays.size(); ++k) {
    if (v.arrays[k].type != ValueType::ARRAY)
      throw Error("gguf writer: " + where + ": element " + std::to_string(k) + " of an array of arrays is a " +
                  std::string(value_type_name(v.arrays[k].type)));
    validate_value(v.arrays[k], where + " element " + std::to_string(k), depth + 1);
  }
}

void put_int(ByteSink& out, ValueType t, int64_t i, uint64_t u) {
  switch (t) {
    case ValueType::UINT8: case ValueType::BOOL: out.put<uint8_t>(static_cast<uint8_t>(u)); break;
    case ValueType::INT8: out.put<int8_t>(static_cast<int8_t>(i)); break;
    case ValueType::UINT16: out.put<uint16_t>(static_cast<uint16_t>(u)); break;
    case ValueType::INT16: out.put<int16_t>(static_cast<int16_t>(i)); break;
    case ValueType::UINT32: out.put<uint32_t>(static_cast<uint32_t>(u)); break;
    case ValueType::INT32: out.put<int32_t>(static_cast<int32_t>(i)); break;
    case ValueType::UINT64: out.put<uint64_t>(u); break;
    case ValueType::INT64: out.put<int64_t>(i); break;
    default: break;
  }
}

void put_value_body(ByteSink& out, const Value& v) {
  switch (v.type) {
    case ValueType::FLOAT32: out.put<float>(static_cast<float>(v.f)); return;
    case ValueType::FLOAT64: out.put<double>(v.f); return;
    case ValueType::STRING: out.put_string(v.str); return;
    case ValueType::ARRAY: break;
    default: put_int(out, v.type, v.i, v.u); return;
  }
  out.put<uint32_t>(static_cast<uint32_t>(v.elem));
  out.put<uint64_t>(v.array_size());
  switch (v.elem) {
    case ValueType::FLOAT32: for (double f : v.floats) out.put<float>(static_cast<float>(f)); break;
    case ValueType::FLOAT64: for (double f : v.floats) out.put<double>(f); break;
    case ValueType::STRING: for (const auto& s : v.strings) out.put_string(s); break;
    case ValueType::ARRAY: for (const auto& a : v.arrays) put_value_body(out, a); break;
    default:  // integer elements live in `ints` (unsigned bit-cast)
      for (int64_t x : v.ints) put_int(out, v.elem, x, static_cast<uint64_t>(x));
      break;
  }
}

}  // namespace

Writer::Writer(uint32_t version, uint64_t alignment) : version_(version), alignment_(alignment) {
  if (version != 2 && version != 3)
    throw Error("gguf writer: version " + std::to_string(version) + " is not supported (2 or 3)");
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > kMaxAlignment)
    throw Error("gguf writer: alignment " + std::to_string(alignment) + " must be a power of two up to " +
                std::to_string(kMaxAlignment));
}

void Writer::set(std::string key, Value v) {
  if (key.empty()) throw Error("gguf writer: empty metadata key");
  if (key.size() > kMaxKeyBytes)
    throw Error("gguf writer: key of " + std::to_string(key.size()) + " bytes exceeds the limit of " +
                std::to_string(kMaxKeyBytes));
  if (!is_valid_utf8(key)) throw Error("gguf writer: key '" + key + "' is not valid UTF-8");
  validate_value(v, "key '" + key + "'", 0);
  if (key == "general.alignment" && (v.type != ValueType::UINT32 || v.u != alignment_))
    throw Error("gguf writer: key 'general.alignment' must be the uint32 " + std::to_string(alignment_) +
                " this writer was constructed with, got " + describe_type(v));
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(v));
}

uint64_t Writer::check_new_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne) const {
  const std::string where = "gguf writer: tensor '" + name + "'";
  if (name.empty()) throw Error("gguf writer: empty tensor name");
  if (name.size() > kWriterMaxTensorNameBytes)
    throw Error(where + ": name of " + std::to_string(name.size()) + " bytes exceeds llama.cpp's limit of " +
                std::to_string(kWriterMaxTensorNameBytes));
  if (!is_valid_utf8(name)) throw Error(where + ": name is not valid UTF-8");
  for (const auto& t : tensors_)
    if (t.name == name) throw Error(where + ": duplicate tensor name");
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits)
    throw Error(where + ": type id " + std::to_string(static_cast<uint32_t>(type)) + " is unknown or retired");
  if (ne.empty() || ne.size() > 4)
    throw Error(where + ": " + std::to_string(ne.size()) + " dimensions, expected 1..4");
  int64_t n = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] <= 0) throw Error(where + ": dimension " + std::to_string(d) + " is " + std::to_string(ne[d]));
    if (n > std::numeric_limits<int64_t>::max() / ne[d]) throw Error(where + ": element count overflows int64");
    n *= ne[d];
  }
  if (ne[0] % traits->block_size != 0)
    throw Error(where + ": row length " + std::to_string(ne[0]) + " is not a multiple of " +
                std::string(traits->name) + "'s block size " + std::to_string(traits->block_size));
  const uint64_t blocks = static_cast<uint64_t>(n / traits->block_size);
  if (blocks > std::numeric_limits<uint64_t>::max() / traits->block_bytes)
    throw Error(where + ": byte size overflows 64 bits");
  return blocks * traits->block_bytes;
}

void Writer::add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne, std::vector<uint8_t> data) {
  const uint64_t expected = check_new_tensor(name, type, ne);
  if (data.size() != expected)
    throw Error("gguf writer: tensor '" + name + "': " + std::to_string(data.size()) + " data bytes, but a " +
                std::string(ggml_type_name(type)) + " tensor of this shape takes " + std::to_string(expected));
  tensors_.push_back({std::move(name), type, std::move(ne), std::move(data), expected, false});
}

void Writer::add_tensor_info(std::string name, GgmlType type, std::vector<int64_t> ne) {
  const uint64_t n_bytes = check_new_tensor(name, type, ne);
  tensors_.push_back({std::move(name), type, std::move(ne), {}, n_bytes, true});
}

std::vector<uint8_t> Writer::header_bytes() const {
  bool has_alignment_key = false;
  for (const auto& kv : kv_) has_alignment_key |= kv.first == "general.alignment";
  const bool write_alignment = alignment_ != kDefaultAlignment && !has_alignment_key;

  ByteSink out;
  out.put_raw("GGUF", 4);
  out.put<uint32_t>(version_);
  out.put<uint64_t>(tensors_.size());
  out.put<uint64_t>(kv_.size() + (write_alignment ? 1 : 0));
  for (const auto& [key, v] : kv_) {
    out.put_string(key);
    out.put<uint32_t>(static_cast<uint32_t>(v.type));
    put_value_body(out, v);
  }
  if (write_alignment) {
    out.put_string("general.alignment");
    out.put<uint32_t>(static_cast<uint32_t>(ValueType::UINT32));
    out.put<uint32_t>(static_cast<uint32_t>(alignment_));
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    out.put_string(t.name);
    out.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) out.put<uint64_t>(static_cast<uint64_t>(d));
    out.put<uint32_t>(static_cast<uint32_t>(t.type));
    out.put<uint64_t>(offset);
    offset += (t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  }
  out.pad_to(alignment_);
  return std::move(out.bytes);
}

std::vector<uint8_t> Writer::to_bytes() const {
  uint64_t data_bytes = 0;
  for (const auto& t : tensors_) {
    if (t.deferred)
      throw Error("gguf writer: tensor '" + t.name + "' was declared without data; write it with write_streaming()");
    data_bytes += (t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  }
  ByteSink out;
  out.bytes = header_bytes();
  out.bytes.reserve(out.bytes.size() + data_bytes);
  for (const auto& t : tensors_) {
    out.bytes.insert(out.bytes.end(), t.data.begin(), t.data.end());
    out.pad_to(alignment_);  // llama.cpp expects every tensor padded, the last one too
  }
  return std::move(out.bytes);
}

void Writer::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = to_bytes();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(path + ": cannot create: " + std::strerror(errno));
  const size_t written = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
  const int write_errno = errno;
  const bool closed = std::fclose(f) == 0;
  if (written != bytes.size()) throw Error(path + ": write failed: " + std::strerror(write_errno));
  if (!closed) throw Error(path + ": write failed on close: " + std::strerror(errno));
}

void Writer::write_streaming(const std::string& path, const TensorProducer& produce) const {
  const std::vector<uint8_t> header = header_bytes();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(path + ": cannot create: " + std::strerror(errno));
  auto put = [&](const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) throw Error(path + ": write failed: " + std::strerror(errno));
  };
  try {
    put(header.data(), header.size());
    static constexpr uint8_t kZeros[64] = {};
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      std::vector<uint8_t> produced;
      if (t.deferred) {
        if (!produce) throw Error("gguf writer: tensor '" + t.name + "' was declared without data and no producer was given");
        produced = produce(i);
        if (produced.size() != t.n_bytes)
          throw Error("gguf writer: tensor '" + t.name + "': the producer gave " + std::to_string(produced.size()) +
                      " bytes, but a " + std::string(ggml_type_name(t.type)) + " tensor of this shape takes " +
                      std::to_string(t.n_bytes));
      }
      const std::vector<uint8_t>& bytes = t.deferred ? produced : t.data;
      put(bytes.data(), bytes.size());
      // Every tensor padded to the alignment, the last one too (as in to_bytes()).
      for (uint64_t pad = (alignment_ - t.n_bytes % alignment_) % alignment_; pad > 0;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(pad, sizeof kZeros));
        put(kZeros, n);
        pad -= n;
      }
    }
    if (std::fclose(f) != 0) {
      f = nullptr;
      throw Error(path + ": write failed on close: " + std::strerror(errno));
    }
  } catch (...) {
    if (f) std::fclose(f);
    std::remove(path.c_str());
    throw;
  }
}

}  // namespace ridge::gguf
