// GGUF reader: maps or copies a file image, then validates every field before
// anything is exposed. Counts and lengths read from the file are bounded by the
// bytes left in it before anything is allocated from them.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "gguf/gguf.h"

namespace ridge::gguf {

namespace {

// What parsing produces; File::Impl adds the storage of the image.
struct Parsed {
  std::string path;
  uint32_t version = 0;
  uint64_t alignment = kDefaultAlignment;
  uint64_t file_size = 0;
  uint64_t data_offset = 0;
  std::vector<std::pair<std::string, Value>> metadata;
  std::vector<TensorInfo> tensors;
  // Keys view strings owned by `metadata` / `tensors`, which are never resized
  // once the maps are built; the Impl itself never moves (it lives behind a
  // unique_ptr), so moving a File keeps the views valid.
  std::unordered_map<std::string_view, size_t> key_index;
  std::unordered_map<std::string_view, size_t> tensor_index;
};

std::string quoted(std::string_view s) {
  // Names in messages come from the file: keep them printable and short.
  // Bytes of malformed UTF-8 are escaped so the message itself stays valid text.
  const bool escape_high = !is_valid_utf8(s);
  std::string out = "'";
  size_t shown = 0;
  for (char ch : s) {
    if (++shown > 120) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\' || (escape_high && c >= 0x80)) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "'";
}

// Smallest encodings, used to bound counts by the bytes left in the file.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;                  // key len, 1-byte key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name len+1, n_dims, ne[0], type, offset
constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;

uint64_t fixed_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    default: return 0;
  }
}

class Parser {
 public:
  Parser(const uint8_t* data, uint64_t size, const std::string& name) : data_(data), size_(size), name_(name) {}

  void parse(Parsed& out);

 private:
  [[noreturn]] void fail(uint64_t at, const std::string& msg) const {
    std::string m = name_ + ": ";
    if (!ctx_.empty()) m += ctx_ + ": ";
    throw Error(m + msg + " (at byte offset " + std::to_string(at) + ")");
  }
  uint64_t remaining() const { return size_ - pos_; }
  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      fail(pos_, std::string("file truncated reading ") + what + ": needs " + std::to_string(n) + " bytes, " +
                     std::to_string(remaining()) + " left");
  }
  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view string(const char* what, uint64_t max_len) {
    const uint64_t at = pos_;
    const uint64_t len = read<uint64_t>(what);
    if (len > remaining())
      fail(at, std::string(what) + " length " + std::to_string(len) + " runs past the end of the file (" +
                   std::to_string(remaining()) + " bytes left)");
    if (len > max_len)
      fail(at, std::string(what) + " length " + std::to_string(len) + " exceeds the limit of " +
                   std::to_string(max_len) + " bytes");
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }
  ValueType value_type(uint32_t raw, uint64_t at, const char* what) const {
    if (raw > static_cast<uint32_t>(ValueType::FLOAT64))
      fail(at, std::string(what) + " id " + std::to_string(raw) + " is not a GGUF value type (0..12)");
    return static_cast<ValueType>(raw);
  }

  void header(Parsed& out, uint64_t& n_tensors, uint64_t& n_kv);
  void metadata(Parsed& out, uint64_t n_kv);
  void alignment(Parsed& out);
  void tensor_infos(Parsed& out, uint64_t n_tensors);
  void tensor_data(Parsed& out);

  Value scalar_or_array(ValueType t, int depth);
  void array(Value& v, int depth);
  int64_t integer(ValueType t);

  const uint8_t* data_;
  uint64_t size_;
  const std::string& name_;
  uint64_t pos_ = 0;
  std::string ctx_;  // "key 'x'" or "tensor 'y'" while parsing them
  uint64_t nested_arrays_ = 0;
  std::vector<uint64_t> key_offsets_;
  std::vector<uint64_t> tensor_offsets_;
};

void Parser::parse(Parsed& out) {
  out.file_size = size_;
  uint64_t n_tensors = 0, n_kv = 0;
  header(out, n_tensors, n_kv);
  metadata(out, n_kv);
  alignment(out);
  tensor_infos(out, n_tensors);
  tensor_data(out);
}

void Parser::header(Parsed& out, uint64_t& n_tensors, uint64_t& n_kv) {
  ctx_ = "header";
  need(4, "magic");
  if (std::memcmp(data_, "GGUF", 4) != 0) {
    std::string got;
    for (int k = 0; k < 4; ++k) {
      static const char* hex = "0123456789abcdef";
      got += hex[data_[k] >> 4];
      got += hex[data_[k] & 15];
    }
    fail(0, "not a GGUF file: magic bytes are 0x" + got + ", expected \"GGUF\" (0x47475546)");
  }
  pos_ = 4;
  const uint32_t version = read<uint32_t>("version");
  if (version == 1)
    fail(4, "GGUF version 1 is not supported (it predates 64-bit counts); convert the file to v3");
  if ((version & 0xFFFF) == 0 && (version >> 24) >= 1 && (version >> 24) <= 3 && ((version >> 16) & 0xFF) == 0)
    fail(4, "big-endian GGUF files are not supported (version field reads " + std::to_string(version >> 24) +
                " byte-swapped)");
  if (version != 2 && version != 3)
    fail(4, "unsupported GGUF version " + std::to_string(version) + " (supported: 2, 3)");
  out.version = version;
  n_tensors = read<uint64_t>("tensor count");
  n_kv = read<uint64_t>("metadata count");
  const uint64_t left = remaining();
  if (n_kv > kMaxKeys)
    fail(16, "metadata count " + std::to_string(n_kv) + " exceeds the limit of " + std::to_string(kMaxKeys));
  if (n_kv > left / kMinKvBytes)
    fail(16, "metadata count " + std::to_string(n_kv) + " cannot fit in the " + std::to_string(left) +
                 " bytes after the header (each entry takes at least " + std::to_string(kMinKvBytes) + ")");
  if (n_tensors > left / kMinTensorInfoBytes)
    fail(8, "tensor count " + std::to_string(n_tensors) + " cannot fit in the " + std::to_string(left) +
                " bytes after the header (each tensor info takes at least " +
                std::to_string(kMinTensorInfoBytes) + ")");
  if (n_kv * kMinKvBytes + n_tensors * kMinTensorInfoBytes > left)  // both terms <= left: no overflow
    fail(8, std::to_string(n_tensors) + " tensor infos and " + std::to_string(n_kv) +
                " metadata entries cannot fit in the " + std::to_string(left) + " bytes after the header");
}

int64_t Parser::integer(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return read<uint8_t>("uint8 value");
    case ValueType::INT8: return read<int8_t>("int8 value");
    case ValueType::UINT16: return read<uint16_t>("uint16 value");
    case ValueType::INT16: return read<int16_t>("int16 value");
    case ValueType::UINT32: return read<uint32_t>("uint32 value");
    case ValueType::INT32: return read<int32_t>("int32 value");
    case ValueType::UINT64: return static_cast<int64_t>(read<uint64_t>("uint64 value"));
    case ValueType::INT64: return read<int64_t>("int64 value");
    case ValueType::BOOL: {
      const uint64_t at = pos_;
      const uint8_t b = read<uint8_t>("bool value");
      if (b > 1) fail(at, "bool value is " + std::to_string(b) + ", expected 0 or 1");
      return b;
    }
    default: return 0;  // not reached: callers pass integer or bool types
  }
}

Value Parser::scalar_or_array(ValueType t, int depth) {
  Value v;
  v.type = t;
  switch (t) {
    case ValueType::UINT8: case ValueType::UINT16: case ValueType::UINT32: case ValueType::UINT64:
    case ValueType::BOOL:
      v.u = static_cast<uint64_t>(integer(t));
      break;
    case ValueType::INT8: case ValueType::INT16: case ValueType::INT32: case ValueType::INT64:
      v.i = integer(t);
      break;
    case ValueType::FLOAT32: v.f = read<float>("float32 value"); break;
    case ValueType::FLOAT64: v.f = read<double>("float64 value"); break;
    case ValueType::STRING: v.str = string("string value", std::numeric_limits<uint64_t>::max()); break;
    case ValueType::ARRAY: array(v, depth + 1); break;
  }
  return v;
}

void Parser::array(Value& v, int depth) {
  const uint64_t at = pos_;
  if (depth > kMaxArrayDepth)
    fail(at, "arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
  const ValueType elem = value_type(read<uint32_t>("array element type"), at, "array element type");
  const uint64_t count = read<uint64_t>("array count");
  v.elem = elem;
  // Smallest possible element: a fixed-size scalar, an empty string (its
  // 8-byte length), or an empty array (element type + count).
  uint64_t min_elem = fixed_size(elem);
  if (elem == ValueType::STRING) min_elem = 8;
  if (elem == ValueType::ARRAY) min_elem = 12;
  if (count > remaining() / min_elem)
    fail(at, "array of " + std::to_string(count) + " " + std::string(value_type_name(elem)) +
                 " elements cannot fit in the " + std::to_string(remaining()) + " bytes left (each takes at least " +
                 std::to_string(min_elem) + ")");
  switch (elem) {
    case ValueType::FLOAT32:
      v.floats.resize(count);
      for (uint64_t k = 0; k < count; ++k) {
        float f;
        std::memcpy(&f, data_ + pos_ + 4 * k, 4);
        v.floats[k] = f;
      }
      pos_ += 4 * count;
      break;
    case ValueType::FLOAT64:
      v.floats.resize(count);
      if (count > 0) std::memcpy(v.floats.data(), data_ + pos_, 8 * count);
      pos_ += 8 * count;
      break;
    case ValueType::STRING:
      v.strings.reserve(count);
      for (uint64_t k = 0; k < count; ++k)
        v.strings.emplace_back(string("string array element", std::numeric_limits<uint64_t>::max()));
      break;
    case ValueType::ARRAY:
      nested_arrays_ += count;
      if (nested_arrays_ > kMaxNestedArrays)
        fail(at, "more than " + std::to_string(kMaxNestedArrays) + " nested arrays in the file");
      v.arrays.reserve(count);
      for (uint64_t k = 0; k < count; ++k) v.arrays.push_back(scalar_or_array(ValueType::ARRAY, depth));
      break;
    default:  // integers and bool
      v.ints.resize(count);
      for (uint64_t k = 0; k < count; ++k) v.ints[k] = integer(elem);
      break;
  }
}

void Parser::metadata(Parsed& out, uint64_t n_kv) {
  // No reserve from n_kv: entries cost far more memory than their minimum
  // 14 bytes on disk, so the vector grows only with entries actually parsed.
  for (uint64_t k = 0; k < n_kv; ++k) {
    ctx_ = "metadata entry #" + std::to_string(k);
    const uint64_t at = pos_;
    const std::string_view key = string("key", kMaxKeyBytes);
    if (key.empty()) fail(at, "empty key");
    if (!is_valid_utf8(key)) fail(at, "key " + quoted(key) + " is not valid UTF-8");
    ctx_ = "key " + quoted(key);
    const uint64_t type_at = pos_;
    const ValueType t = value_type(read<uint32_t>("value type"), type_at, "value type");
    out.metadata.emplace_back(std::string(key), scalar_or_array(t, 0));
    key_offsets_.push_back(at);
  }
  ctx_.clear();
  out.key_index.reserve(out.metadata.size());
  for (size_t k = 0; k < out.metadata.size(); ++k) {
    auto [it, inserted] = out.key_index.emplace(out.metadata[k].first, k);
    if (!inserted) {
      ctx_ = "key " + quoted(out.metadata[k].first);
      fail(key_offsets_[k], "duplicate key (first defined at byte offset " +
                                std::to_string(key_offsets_[it->second]) + ")");
    }
  }
}

void Parser::alignment(Parsed& out) {
  auto it = out.key_index.find("general.alignment");
  if (it == out.key_index.end()) return;
  ctx_ = "key 'general.alignment'";
  const Value& v = out.metadata[it->second].second;
  // The value starts after the key string (8 + 17 bytes) and its type id (4).
  const uint64_t at = key_offsets_[it->second] + 8 + 17 + 4;
  if (v.type != ValueType::UINT32) fail(at, "has type " + describe_type(v) + ", expected uint32");
  if (v.u == 0) fail(at, "alignment is 0");
  if ((v.u & (v.u - 1)) != 0) fail(at, "alignment " + std::to_string(v.u) + " is not a power of two");
  if (v.u > kMaxAlignment)
    fail(at, "alignment " + std::to_string(v.u) + " exceeds the limit of " + std::to_string(kMaxAlignment));
  out.alignment = v.u;
  ctx_.clear();
}

void Parser::tensor_infos(Parsed& out, uint64_t n_tensors) {
  // n_tensors is bounded by the bytes left / 33, so this reserve is at most a
  // few times the file's own size; it also keeps names from moving, which the
  // name index relies on.
  out.tensors.reserve(n_tensors);
  out.tensor_index.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    ctx_ = "tensor #" + std::to_string(k);
    const uint64_t at = pos_;
    const std::string_view name = string("tensor name", std::numeric_limits<uint64_t>::max());
    if (name.empty()) fail(at, "empty tensor name");
    if (name.size() > kMaxTensorNameBytes)
      fail(at, "tensor name of " + std::to_string(name.size()) + " bytes exceeds the limit of " +
                   std::to_string(kMaxTensorNameBytes) + " (name starts " + quoted(name.substr(0, 40)) + ")");
    if (!is_valid_utf8(name)) fail(at, "tensor name " + quoted(name) + " is not valid UTF-8");
    ctx_ = "tensor " + quoted(name);
    TensorInfo ti;
    ti.name = std::string(name);

    const uint64_t dims_at = pos_;
    ti.n_dims = read<uint32_t>("n_dims");
    if (ti.n_dims == 0 || ti.n_dims > 4)
      fail(dims_at, "n_dims is " + std::to_string(ti.n_dims) + ", expected 1..4");
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < ti.n_dims; ++d) {
      const uint64_t ne_at = pos_;
      const uint64_t ne = read<uint64_t>("dimension");
      if (ne == 0) fail(ne_at, "dimension " + std::to_string(d) + " is 0");
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(ne_at, "dimension " + std::to_string(d) + " = " + std::to_string(ne) + " is negative as int64");
      ti.ne[d] = static_cast<int64_t>(ne);
      if (n_elements > std::numeric_limits<int64_t>::max() / ti.ne[d])
        fail(ne_at, "element count overflows int64 at dimension " + std::to_string(d));
      n_elements *= ti.ne[d];
    }
    const uint64_t type_at = pos_;
    const uint32_t type_id = read<uint32_t>("tensor type");
    const auto traits = ggml_type_traits(type_id);
    if (!traits) fail(type_at, "tensor type id " + std::to_string(type_id) + " is unknown or retired");
    ti.type = traits->type;
    if (ti.ne[0] % traits->block_size != 0)
      fail(dims_at, "row length " + std::to_string(ti.ne[0]) + " is not a multiple of " +
                        std::string(traits->name) + "'s block size " + std::to_string(traits->block_size));
    const uint64_t blocks = static_cast<uint64_t>(n_elements / traits->block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / traits->block_bytes)
      fail(dims_at, "byte size of " + std::to_string(blocks) + " blocks of " + std::string(traits->name) +
                        " overflows 64 bits");
    ti.n_bytes = blocks * traits->block_bytes;
    const uint64_t offset_at = pos_;
    ti.offset = read<uint64_t>("tensor data offset");
    tensor_offsets_.push_back(offset_at);

    out.tensors.push_back(std::move(ti));
    auto [it, inserted] = out.tensor_index.emplace(out.tensors.back().name, out.tensors.size() - 1);
    if (!inserted)
      fail(at, "duplicate tensor name (first defined as tensor #" + std::to_string(it->second) + ")");
  }
  ctx_.clear();
}

void Parser::tensor_data(Parsed& out) {
  // The data section starts at the next multiple of the alignment. Files
  // without tensors (vocabulary-only files) often end before it: their empty
  // data section is reported as starting at the end of the file.
  const uint64_t a = out.alignment;
  out.data_offset = (pos_ + a - 1) / a * a;  // pos_ <= size_ < 2^63: cannot overflow
  if (out.tensors.empty()) {
    out.data_offset = std::min(out.data_offset, size_);
    return;
  }
  if (out.data_offset > size_)
    fail(pos_, "data section would start at byte " + std::to_string(out.data_offset) + ", past the end of the " +
                   std::to_string(size_) + "-byte file");
  const uint64_t data_bytes = size_ - out.data_offset;
  for (size_t k = 0; k < out.tensors.size(); ++k) {
    TensorInfo& ti = out.tensors[k];
    ctx_ = "tensor " + quoted(ti.name);
    if (ti.offset % a != 0)
      fail(tensor_offsets_[k], "data offset " + std::to_string(ti.offset) + " is not a multiple of the alignment " +
                                   std::to_string(a));
    if (ti.offset > data_bytes || ti.n_bytes > data_bytes - ti.offset)
      fail(tensor_offsets_[k], "data [" + std::to_string(ti.offset) + ", +" + std::to_string(ti.n_bytes) +
                                   ") runs past the end of the data section (" + std::to_string(data_bytes) +
                                   " bytes from byte " + std::to_string(out.data_offset) + ")");
  }
  std::vector<size_t> order(out.tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return out.tensors[x].offset < out.tensors[y].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const TensorInfo& prev = out.tensors[order[k - 1]];
    const TensorInfo& cur = out.tensors[order[k]];
    if (cur.offset < prev.offset + prev.n_bytes) {  // both end within the file: no overflow
      ctx_ = "tensor " + quoted(cur.name);
      fail(tensor_offsets_[order[k]], "data [" + std::to_string(cur.offset) + ", +" + std::to_string(cur.n_bytes) +
                                          ") overlaps tensor " + quoted(prev.name) + " [" +
                                          std::to_string(prev.offset) + ", +" + std::to_string(prev.n_bytes) + ")");
    }
  }
  ctx_.clear();
  const uint8_t* base = data_ + out.data_offset;
  for (TensorInfo& ti : out.tensors) ti.data = base + ti.offset;
}

}  // namespace

struct File::Impl : Parsed {
  // Exactly one of these holds the image.
  std::vector<uint8_t> owned;
  void* mapping = nullptr;
  size_t mapping_size = 0;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (mapping) ::munmap(mapping, mapping_size);
  }

  void parse(const uint8_t* data, uint64_t size) { Parser(data, size, path).parse(*this); }
  const Value& require(std::string_view key) const;
  [[noreturn]] void type_error(std::string_view key, const Value& v, std::string_view wanted) const;
};

File::File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below
  // as not a regular file); it changes nothing for regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw Error(path + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes) {
    ::close(fd);
    throw Error(path + ": file truncated: " + std::to_string(size) + " bytes is shorter than the " +
                std::to_string(kHeaderBytes) + "-byte GGUF header (at byte offset " + std::to_string(size) + ")");
  }
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int e = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (m == MAP_FAILED) throw Error(path + ": cannot map: " + std::strerror(e));
  impl->mapping = m;
  impl->mapping_size = size;
  impl->parse(static_cast<const uint8_t*>(m), size);
  return File(std::move(impl));
}

File File::from_bytes(std::vector<uint8_t> bytes, std::string name) {
  auto impl = std::make_unique<Impl>();
  impl->path = std::move(name);
  impl->owned = std::move(bytes);
  impl->parse(impl->owned.data(), impl->owned.size());
  return File(std::move(impl));
}

const std::string& File::path() const { return impl_->path; }
uint32_t File::version() const { return impl_->version; }
uint64_t File::alignment() const { return impl_->alignment; }
uint64_t File::file_size() const { return impl_->file_size; }
uint64_t File::data_offset() const { return impl_->data_offset; }
const std::vector<std::pair<std::string, Value>>& File::metadata() const { return impl_->metadata; }
const std::vector<TensorInfo>& File::tensors() const { return impl_->tensors; }

const Value* File::find(std::string_view key) const {
  auto it = impl_->key_index.find(key);
  return it == impl_->key_index.end() ? nullptr : &impl_->metadata[it->second].second;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = impl_->tensor_index.find(name);
  return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

// ---- typed getters ----

const Value& File::Impl::require(std::string_view key) const {
  auto it = key_index.find(key);
  if (it == key_index.end()) throw Error(path + ": required key " + quoted(key) + " is missing");
  return metadata[it->second].second;
}

void File::Impl::type_error(std::string_view key, const Value& v, std::string_view wanted) const {
  throw Error(path + ": key " + quoted(key) + " is declared " + describe_type(v) + " but was read as " +
              std::string(wanted));
}

namespace {

// The value of an integer-typed Value as a signed/unsigned pair: exactly one
// of them is meaningful, depending on the declared signedness.
bool is_unsigned(ValueType t) {
  return t == ValueType::UINT8 || t == ValueType::UINT16 || t == ValueType::UINT32 || t == ValueType::UINT64;
}

std::string int_text(const Value& v) { return is_unsigned(v.type) ? std::to_string(v.u) : std::to_string(v.i); }

}  // namespace

uint64_t File::get_u64(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (!is_integer(v.type)) impl_->type_error(key, v, "an unsigned integer");
  if (!is_unsigned(v.type) && v.i < 0)
    throw Error(impl_->path + ": key " + quoted(key) + " holds " + int_text(v) + ", which does not fit uint64");
  return is_unsigned(v.type) ? v.u : static_cast<uint64_t>(v.i);
}

uint32_t File::get_u32(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (!is_integer(v.type)) impl_->type_error(key, v, "an unsigned integer");
  const bool fits = is_unsigned(v.type) ? v.u <= std::numeric_limits<uint32_t>::max()
                                        : v.i >= 0 && v.i <= int64_t{std::numeric_limits<uint32_t>::max()};
  if (!fits)
    throw Error(impl_->path + ": key " + quoted(key) + " holds " + int_text(v) + ", which does not fit uint32");
  return static_cast<uint32_t>(is_unsigned(v.type) ? v.u : static_cast<uint64_t>(v.i));
}

int64_t File::get_i64(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (!is_integer(v.type)) impl_->type_error(key, v, "an integer");
  if (is_unsigned(v.type)) {
    if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(impl_->path + ": key " + quoted(key) + " holds " + int_text(v) + ", which does not fit int64");
    return static_cast<int64_t>(v.u);
  }
  return v.i;
}

double File::get_f64(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (!is_float(v.type)) impl_->type_error(key, v, "a float (float32 or float64)");
  return v.f;
}

bool File::get_bool(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (v.type != ValueType::BOOL) impl_->type_error(key, v, "bool");
  return v.u != 0;
}

const std::string& File::get_string(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (v.type != ValueType::STRING) impl_->type_error(key, v, "string");
  return v.str;
}

uint64_t File::get_u64_or(std::string_view key, uint64_t def) const { return has(key) ? get_u64(key) : def; }
uint32_t File::get_u32_or(std::string_view key, uint32_t def) const { return has(key) ? get_u32(key) : def; }
int64_t File::get_i64_or(std::string_view key, int64_t def) const { return has(key) ? get_i64(key) : def; }
double File::get_f64_or(std::string_view key, double def) const { return has(key) ? get_f64(key) : def; }
bool File::get_bool_or(std::string_view key, bool def) const { return has(key) ? get_bool(key) : def; }
std::string File::get_string_or(std::string_view key, std::string def) const {
  return has(key) ? get_string(key) : std::move(def);
}

const std::vector<std::string>& File::get_string_array(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (v.type != ValueType::ARRAY || v.elem != ValueType::STRING) impl_->type_error(key, v, "array of string");
  return v.strings;
}

const std::vector<double>& File::get_float_array(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (v.type != ValueType::ARRAY || !is_float(v.elem))
    impl_->type_error(key, v, "array of float (float32 or float64)");
  return v.floats;
}

const std::vector<int64_t>& File::get_int_array(std::string_view key) const {
  const Value& v = impl_->require(key);
  if (v.type != ValueType::ARRAY || !is_integer(v.elem)) impl_->type_error(key, v, "array of integer");
  return v.ints;
}

}  // namespace ridge::gguf
