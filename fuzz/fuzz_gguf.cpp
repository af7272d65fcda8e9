// libFuzzer target for the GGUF reader: any input must either load or be
// refused with gguf::Error. A loaded file is read through every accessor
// (typed getters included) so that a bad view shows up under the sanitizers.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf/gguf.h"

namespace {

using ridge::gguf::Error;
using ridge::gguf::File;
using ridge::gguf::Value;

uint64_t touch_value(const Value& v) {
  uint64_t h = static_cast<uint64_t>(v.type) + v.u + static_cast<uint64_t>(v.i) + v.str.size() + v.array_size();
  if (v.f == v.f) h += static_cast<uint64_t>(v.f != 0);
  for (const auto& s : v.strings) h += s.empty() ? 0 : static_cast<unsigned char>(s.back());
  for (int64_t x : v.ints) h += static_cast<uint64_t>(x);
  for (double d : v.floats) h += d > 0;
  for (const auto& a : v.arrays) h += touch_value(a);
  return h;
}

// Each getter either returns or throws Error (type mismatch, value out of range).
template <class F>
uint64_t try_get(F&& get) {
  try {
    return static_cast<uint64_t>(get());
  } catch (const Error&) {
    return 1;
  }
}

uint64_t touch_file(const File& f) {
  uint64_t h = f.version() + f.alignment() + f.file_size() + f.data_offset() + f.path().size();
  for (const auto& entry : f.metadata()) {
    const std::string& key = entry.first;
    const Value& v = entry.second;
    h += touch_value(v);
    if (f.find(key) != &v) __builtin_trap();
    h += try_get([&] { return f.get_u64(key); });
    h += try_get([&] { return f.get_u32(key); });
    h += try_get([&] { return f.get_i64(key); });
    h += try_get([&] { return f.get_f64(key) > 0; });
    h += try_get([&] { return f.get_bool(key); });
    h += try_get([&] { return f.get_string(key).size(); });
    h += try_get([&] { return f.get_u32_or(key, 7); });
    h += try_get([&] { return f.get_string_or(key, "x").size(); });
    h += try_get([&] { return f.get_string_array(key).size(); });
    h += try_get([&] { return f.get_float_array(key).size(); });
    h += try_get([&] { return f.get_int_array(key).size(); });
  }
  h += try_get([&] { return f.get_u32("general.alignment"); });
  h += try_get([&] { return f.get_u64_or("no.such.key", 3); });
  for (const auto& t : f.tensors()) {
    if (f.find_tensor(t.name) != &t) __builtin_trap();
    // First and last byte of every tensor: both must lie inside the image.
    h += t.data[0] + t.data[t.n_bytes - 1] + static_cast<uint64_t>(t.n_elements()) + t.n_dims;
    h += static_cast<uint64_t>(t.type) + t.offset;
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    File f = File::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz-input");
    volatile uint64_t sink = touch_file(f);
    (void)sink;
  } catch (const Error&) {
    // Refusing the input is the expected outcome for most of them.
  }
  return 0;
}
