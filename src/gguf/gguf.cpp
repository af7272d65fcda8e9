// GGUF metadata values: type names, constructors and UTF-8 checking shared by
// the reader (reader.cpp) and the writer (writer.cpp).
#include "gguf/gguf.h"

#include <limits>

namespace ridge::gguf {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return "uint8";
    case ValueType::INT8: return "int8";
    case ValueType::UINT16: return "uint16";
    case ValueType::INT16: return "int16";
    case ValueType::UINT32: return "uint32";
    case ValueType::INT32: return "int32";
    case ValueType::FLOAT32: return "float32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::UINT64: return "uint64";
    case ValueType::INT64: return "int64";
    case ValueType::FLOAT64: return "float64";
  }
  return "unknown";
}

bool is_integer(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::UINT16: case ValueType::INT16:
    case ValueType::UINT32: case ValueType::INT32: case ValueType::UINT64: case ValueType::INT64:
      return true;
    default:
      return false;
  }
}

bool is_float(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }

std::string describe_type(const Value& v) {
  if (v.type != ValueType::ARRAY) return std::string(value_type_name(v.type));
  return "array of " + std::string(value_type_name(v.elem));
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // a continuation byte or 0xF8..0xFF where a sequence must start
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

size_t Value::array_size() const {
  if (type != ValueType::ARRAY) return 0;
  switch (elem) {
    case ValueType::STRING: return strings.size();
    case ValueType::ARRAY: return arrays.size();
    case ValueType::FLOAT32: case ValueType::FLOAT64: return floats.size();
    default: return ints.size();
  }
}

namespace {

Value unsigned_scalar(ValueType t, uint64_t v) {
  Value r;
  r.type = t;
  r.u = v;
  return r;
}

Value signed_scalar(ValueType t, int64_t v) {
  Value r;
  r.type = t;
  r.i = v;
  return r;
}

}  // namespace

bool int_fits(ValueType t, int64_t v) {
  switch (t) {
    case ValueType::UINT8: return v >= 0 && v <= std::numeric_limits<uint8_t>::max();
    case ValueType::INT8: return v >= std::numeric_limits<int8_t>::min() && v <= std::numeric_limits<int8_t>::max();
    case ValueType::UINT16: return v >= 0 && v <= std::numeric_limits<uint16_t>::max();
    case ValueType::INT16: return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
    case ValueType::UINT32: return v >= 0 && v <= int64_t{std::numeric_limits<uint32_t>::max()};
    case ValueType::INT32: return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    case ValueType::UINT64: case ValueType::INT64: return true;  // UINT64 elements are stored bit-cast
    case ValueType::BOOL: return v == 0 || v == 1;
    default: return false;
  }
}

Value Value::u8(uint8_t v) { return unsigned_scalar(ValueType::UINT8, v); }
Value Value::i8(int8_t v) { return signed_scalar(ValueType::INT8, v); }
Value Value::u16(uint16_t v) { return unsigned_scalar(ValueType::UINT16, v); }
Value Value::i16(int16_t v) { return signed_scalar(ValueType::INT16, v); }
Value Value::u32(uint32_t v) { return unsigned_scalar(ValueType::UINT32, v); }
Value Value::i32(int32_t v) { return signed_scalar(ValueType::INT32, v); }
Value Value::u64(uint64_t v) { return unsigned_scalar(ValueType::UINT64, v); }
Value Value::i64(int64_t v) { return signed_scalar(ValueType::INT64, v); }
Value Value::boolean(bool v) { return unsigned_scalar(ValueType::BOOL, v ? 1 : 0); }

Value Value::f32(float v) {
  Value r;
  r.type = ValueType::FLOAT32;
  r.f = v;
  return r;
}

Value Value::f64(double v) {
  Value r;
  r.type = ValueType::FLOAT64;
  r.f = v;
  return r;
}

Value Value::string(std::string v) {
  Value r;
  r.type = ValueType::STRING;
  r.str = std::move(v);
  return r;
}

Value Value::string_array(std::vector<std::string> v) {
  Value r;
  r.type = ValueType::ARRAY;
  r.elem = ValueType::STRING;
  r.strings = std::move(v);
  return r;
}

Value Value::f32_array(std::vector<float> v) {
  Value r;
  r.type = ValueType::ARRAY;
  r.elem = ValueType::FLOAT32;
  r.floats.assign(v.begin(), v.end());
  return r;
}

Value Value::i32_array(std::vector<int32_t> v) {
  Value r;
  r.type = ValueType::ARRAY;
  r.elem = ValueType::INT32;
  r.ints.assign(v.begin(), v.end());
  return r;
}

Value Value::int_array(ValueType elem, std::vector<int64_t> v) {
  if (!is_integer(elem) && elem != ValueType::BOOL)
    throw Error("Value::int_array: element type " + std::string(value_type_name(elem)) +
                " is not an integer type");
  for (size_t k = 0; k < v.size(); ++k)
    if (!int_fits(elem, v[k]))
      throw Error("Value::int_array: element " + std::to_string(k) + " = " + std::to_string(v[k]) +
                  " does not fit " + std::string(value_type_name(elem)));
  Value r;
  r.type = ValueType::ARRAY;
  r.elem = elem;
  r.ints = std::move(v);
  return r;
}

Value Value::array_of_arrays(std::vector<Value> v) {
  for (size_t k = 0; k < v.size(); ++k)
    if (v[k].type != ValueType::ARRAY)
      throw Error("Value::array_of_arrays: element " + std::to_string(k) + " is a " +
                  std::string(value_type_name(v[k].type)) + ", not an array");
  Value r;
  r.type = ValueType::ARRAY;
  r.elem = ValueType::ARRAY;
  r.arrays = std::move(v);
  return r;
}

}  // namespace ridge::gguf
