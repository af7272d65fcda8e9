#pragma once
// GGUF v2/v3 container. `File` maps a file read-only, validates everything
// before anything is used (header, metadata, tensor table, alignment, data
// bounds) and exposes typed metadata and tensor views. `Writer` produces files
// that llama.cpp loads; tests and benchmarks use it to write random-weight models.
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gguf/types.h"

namespace ridge::gguf {

// Every validation failure; the message names the file, the key or tensor and
// the byte offset at fault.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bounds the reader enforces (and the writer respects), chosen to refuse
// hostile files early while accepting every real model:
// - alignment: a power of two up to 1 MiB. Real files use 32 (the default) or
//   a page size (4-64 KiB); anything larger only pads the file and brings the
//   padding arithmetic near overflow.
// - tensor names: 256 bytes. llama.cpp stops at 63; real names are < 64.
//   The writer keeps llama.cpp's 63 so its files load there too.
// - nested arrays: 8 levels deep and 65536 nested arrays per file. No real
//   file nests arrays at all; the bounds stop recursion and memory bombs
//   (each nested array costs far more memory than its 12 bytes on disk).
// - metadata keys: 1,048,576 entries and 65536 bytes per key (real files have
//   tens of keys under 100 bytes).
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = uint64_t{1} << 20;
constexpr size_t kMaxTensorNameBytes = 256;
constexpr size_t kWriterMaxTensorNameBytes = 63;
constexpr int kMaxArrayDepth = 8;
constexpr uint64_t kMaxNestedArrays = uint64_t{1} << 16;
constexpr uint64_t kMaxKeys = uint64_t{1} << 20;
constexpr size_t kMaxKeyBytes = 65536;

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view s);

enum class ValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
std::string_view value_type_name(ValueType t);  // "uint32", "string", "array", ...
bool is_integer(ValueType t);                    // the 8 integer types (not bool)
bool is_float(ValueType t);                      // FLOAT32, FLOAT64

// One metadata value. Scalars: integers in `i` (signed) or `u` (unsigned),
// floats in `f`, bool in `u` (0/1), strings in `str`. Arrays: `elem` is the
// element type and exactly one of `ints` (integer and bool elements; unsigned
// 64-bit values are stored bit-cast), `floats`, `strings` or `arrays` (nested)
// holds the elements.
struct Value {
  ValueType type = ValueType::UINT8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string str;
  ValueType elem = ValueType::UINT8;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<Value> arrays;

  size_t array_size() const;  // element count of an array value, 0 for scalars

  static Value u8(uint8_t v);
  static Value i8(int8_t v);
  static Value u16(uint16_t v);
  static Value i16(int16_t v);
  static Value u32(uint32_t v);
  static Value i32(int32_t v);
  static Value u64(uint64_t v);
  static Value i64(int64_t v);
  static Value f32(float v);
  static Value f64(double v);
  static Value boolean(bool v);
  static Value string(std::string v);
  static Value string_array(std::vector<std::string> v);
  static Value f32_array(std::vector<float> v);
  static Value i32_array(std::vector<int32_t> v);
  // An integer array of any integer element type (values must fit it).
  static Value int_array(ValueType elem, std::vector<int64_t> v);
  static Value array_of_arrays(std::vector<Value> v);  // all of one element type
};

// True when integer `v` is representable as `t` (an integer type or BOOL);
// UINT64 values are stored bit-cast in int64_t, so every v fits UINT64.
bool int_fits(ValueType t, int64_t v);
// "uint32", or "array of string" / "array of array" for arrays.
std::string describe_type(const Value& v);

struct TensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the row length (fastest-varying)
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;           // relative to the start of the data section
  uint64_t n_bytes = 0;          // exact byte size of the data
  const uint8_t* data = nullptr; // into the mapping, valid while the File lives

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
};

class File {
 public:
  // Maps and validates `path`; throws Error on any problem.
  static File open(const std::string& path);
  // Validates an in-memory image (fuzzing, tests); `name` is used in messages.
  static File from_bytes(std::vector<uint8_t> bytes, std::string name = "<memory>");

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& path() const;
  uint32_t version() const;
  uint64_t alignment() const;
  uint64_t file_size() const;
  uint64_t data_offset() const;  // absolute offset of the data section

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const;
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters. The `get_*` forms throw Error naming the key when it is
  // missing or declared with an incompatible type (integer getters accept any
  // integer type whose value fits; float getters accept FLOAT32/FLOAT64 only).
  // The `*_or` forms return `def` when the key is missing but still throw on a
  // type mismatch.
  uint64_t get_u64(std::string_view key) const;
  uint32_t get_u32(std::string_view key) const;
  int64_t get_i64(std::string_view key) const;
  double get_f64(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  uint64_t get_u64_or(std::string_view key, uint64_t def) const;
  uint32_t get_u32_or(std::string_view key, uint32_t def) const;
  int64_t get_i64_or(std::string_view key, int64_t def) const;
  double get_f64_or(std::string_view key, double def) const;
  bool get_bool_or(std::string_view key, bool def) const;
  std::string get_string_or(std::string_view key, std::string def) const;
  // Arrays: element type checked like the scalar getters.
  const std::vector<std::string>& get_string_array(std::string_view key) const;
  const std::vector<double>& get_float_array(std::string_view key) const;
  const std::vector<int64_t>& get_int_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const;
  const TensorInfo* find_tensor(std::string_view name) const;

 private:
  struct Impl;
  explicit File(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Writer {
 public:
  explicit Writer(uint32_t version = 3, uint64_t alignment = 32);

  // Sets (or replaces) a metadata key; order of first insertion is kept.
  void set(std::string key, Value v);
  // Adds a tensor whose bytes are already in `type`'s layout; ne[0] is the row
  // length; `data.size()` must equal the type's byte size for that shape.
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne, std::vector<uint8_t> data);

  // Declares a tensor whose bytes are produced only when the file is written by
  // write_streaming(), so a model far larger than memory (a 1B model in F32 is
  // 4.4 GB) can be generated or converted one tensor at a time.
  void add_tensor_info(std::string name, GgmlType type, std::vector<int64_t> ne);

  // Both throw Error when a tensor was declared with add_tensor_info().
  std::vector<uint8_t> to_bytes() const;
  void write(const std::string& path) const;  // throws Error on I/O failure

  // Returns the bytes of the tensor at `index` (insertion order), exactly the
  // byte size its type and shape take.
  using TensorProducer = std::function<std::vector<uint8_t>(size_t index)>;
  // Writes the same bytes as write() would, calling `produce` once per declared
  // tensor, in insertion order, just before its data is written; tensors added
  // with data are written from it. At most one produced tensor is held at a
  // time. On any failure (I/O, a wrong-sized tensor, an exception from
  // `produce`) the partial file is removed and the error rethrown.
  void write_streaming(const std::string& path, const TensorProducer& produce) const;

 private:
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
    uint64_t n_bytes = 0;   // the type's byte size for ne
    bool deferred = false;  // bytes come from a TensorProducer
  };
  // Validates a new tensor's name, type and shape; returns its byte size.
  uint64_t check_new_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne) const;
  // Header, metadata, tensor infos and the padding before the data section.
  std::vector<uint8_t> header_bytes() const;
  uint32_t version_;
  uint64_t alignment_;
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace ridge::gguf
