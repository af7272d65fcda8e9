#pragma once
// Builds raw GGUF byte images field by field, so tests can write any field
// with any value (wrong counts, bad type ids, misaligned offsets) that the
// Writer would refuse to produce.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "gguf/gguf.h"

namespace ridge::gguf::test {

class RawGguf {
 public:
  std::vector<uint8_t> bytes;

  size_t size() const { return bytes.size(); }

  RawGguf& raw(std::string_view s) {
    const size_t at = bytes.size();
    bytes.resize(at + s.size());
    if (!s.empty()) std::memcpy(bytes.data() + at, s.data(), s.size());
    return *this;
  }
  template <class T>
  RawGguf& put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
    return *this;
  }
  RawGguf& u8(uint8_t v) { return put(v); }
  RawGguf& u32(uint32_t v) { return put(v); }
  RawGguf& i32(int32_t v) { return put(v); }
  RawGguf& u64(uint64_t v) { return put(v); }
  RawGguf& f32(float v) { return put(v); }
  RawGguf& str(std::string_view s) { return u64(s.size()).raw(s); }
  RawGguf& zeros(size_t n) {
    bytes.resize(bytes.size() + n, 0);
    return *this;
  }
  RawGguf& pad_to(uint64_t alignment) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }

  RawGguf& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  }
  RawGguf& key(std::string_view k, ValueType t) { return str(k).u32(static_cast<uint32_t>(t)); }
  RawGguf& kv_u32(std::string_view k, uint32_t v) { return key(k, ValueType::UINT32).u32(v); }
  RawGguf& kv_string(std::string_view k, std::string_view v) { return key(k, ValueType::STRING).str(v); }
  // Array header only; the caller appends `count` elements.
  RawGguf& kv_array(std::string_view k, ValueType elem, uint64_t count) {
    return key(k, ValueType::ARRAY).u32(static_cast<uint32_t>(elem)).u64(count);
  }
  RawGguf& tensor_info(std::string_view name, std::initializer_list<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }

  // Overwrites a field in place (for corrupting a valid image).
  template <class T>
  RawGguf& poke(size_t at, T v) {
    std::memcpy(bytes.data() + at, &v, sizeof(T));
    return *this;
  }
};

// Asserts that loading `bytes` fails with gguf::Error and that the message
// contains every one of `parts`.
inline void expect_gguf_error(const std::vector<uint8_t>& bytes, std::initializer_list<std::string_view> parts,
                              const char* name = "bad.gguf") {
  try {
    File f = File::from_bytes(bytes, name);
    ADD_FAILURE() << "expected gguf::Error, but the image loaded (" << f.metadata().size() << " keys, "
                  << f.tensors().size() << " tensors)";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(name), std::string::npos) << "message does not name the file: " << msg;
    for (std::string_view p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "message lacks \"" << p << "\": " << msg;
  }
}

}  // namespace ridge::gguf::test
