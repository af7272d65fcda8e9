// `ridge inspect MODEL.gguf`: prints a GGUF file's header facts, its metadata
// (long arrays and strings abbreviated unless --full) and its tensor table.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "cli/args.h"
#include "cli/commands.h"
#include "gguf/gguf.h"

namespace ridge::cli {
namespace {

constexpr const char* kInspectUsage =
    "usage: ridge inspect [options] MODEL.gguf\n"
    "\n"
    "Prints the GGUF version, alignment, metadata (key, type, value) and the\n"
    "tensor table (name, type, shape, byte offset within the data section).\n"
    "The whole file is validated first; a corrupt file is reported, not printed.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE   the GGUF file (or give it as the argument)\n"
    "  --full             print every array element and whole strings\n"
    "  -h, --help         show this help\n";

struct Limits {
  size_t string_chars;  // code points of a string value before "..."
  size_t string_elems;  // elements of a string array before "..."
  size_t number_elems;  // elements of a numeric array before "..."
};
constexpr Limits kAbbreviated{80, 3, 8};
constexpr Limits kFull{SIZE_MAX, SIZE_MAX, SIZE_MAX};

// Length of the well-formed UTF-8 sequence at s[i], or 0 when malformed.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || s.size() - i < len) return 0;
  return gguf::is_valid_utf8(s.substr(i, len)) ? len : 0;
}

// A string from the file as a printable literal: control characters (which
// could drive the terminal) and bytes of malformed UTF-8 escaped, cut after
// `max_chars` code points. Keys and tensor names go through it too, unquoted.
std::string quote(std::string_view s, size_t max_chars, bool quotes = true) {
  static const char* hex = "0123456789abcdef";
  std::string out = quotes ? "\"" : "";
  size_t chars = 0;
  for (size_t i = 0; i < s.size();) {
    if (chars++ == max_chars) {
      out += quotes ? "\"..." : "...";
      return out + " (" + std::to_string(s.size()) + " bytes)";
    }
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = utf8_sequence(s, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (len == 0 || c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out.append(s.substr(i, len));
      i += len;
      continue;
    }
    ++i;
  }
  return quotes ? out + "\"" : out;
}

std::string number(double v, gguf::ValueType t) {
  // Whole numbers print in full (500000, not the shorter 5e+05).
  if (std::isfinite(v) && std::fabs(v) < 1e15 && v == std::trunc(v)) {
    if (v == 0) return std::signbit(v) ? "-0" : "0";
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  // float32 values print at float precision (1e-05, not 9.99999974737875e-06).
  auto r = t == gguf::ValueType::FLOAT32 ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v))
                                         : std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string integer(int64_t x, gguf::ValueType t) {
  if (t == gguf::ValueType::BOOL) return x ? "true" : "false";
  if (t == gguf::ValueType::UINT64) return std::to_string(static_cast<uint64_t>(x));
  return std::to_string(x);
}

std::string format_value(const gguf::Value& v, const Limits& lim) {
  using gguf::ValueType;
  switch (v.type) {
    case ValueType::STRING: return quote(v.str, lim.string_chars);
    case ValueType::BOOL: return v.u ? "true" : "false";
    case ValueType::FLOAT32: case ValueType::FLOAT64: return number(v.f, v.type);
    case ValueType::UINT8: case ValueType::UINT16: case ValueType::UINT32: case ValueType::UINT64:
      return std::to_string(v.u);
    case ValueType::ARRAY: break;
    default: return std::to_string(v.i);
  }
  const size_t n = v.array_size();
  const bool strings = v.elem == ValueType::STRING;
  const size_t shown = std::min(n, strings || v.elem == ValueType::ARRAY ? lim.string_elems : lim.number_elems);
  std::string out = "[" + std::to_string(n) + " ";
  out += strings ? "strings" : v.elem == ValueType::ARRAY ? "arrays" : std::string(gguf::value_type_name(v.elem));
  if (n > 0) out += ": ";
  for (size_t k = 0; k < shown; ++k) {
    if (k) out += ", ";
    switch (v.elem) {
      case ValueType::STRING: out += quote(v.strings[k], lim.string_chars); break;
      case ValueType::ARRAY: out += format_value(v.arrays[k], lim); break;
      case ValueType::FLOAT32: case ValueType::FLOAT64: out += number(v.floats[k], v.elem); break;
      default: out += integer(v.ints[k], v.elem); break;
    }
  }
  if (shown < n) out += ", ...";
  return out + "]";
}

std::string shape(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

void print_file(const gguf::File& f, const Limits& lim) {
  std::printf("file:         %s\n", f.path().c_str());
  std::printf("GGUF version: %u\n", f.version());
  std::printf("alignment:    %llu%s\n", static_cast<unsigned long long>(f.alignment()),
              f.has("general.alignment") ? "" : " (default)");
  std::printf("file size:    %llu bytes\n", static_cast<unsigned long long>(f.file_size()));
  std::printf("data offset:  %llu\n", static_cast<unsigned long long>(f.data_offset()));

  size_t key_width = 3;
  for (const auto& kv : f.metadata()) key_width = std::max(key_width, std::min<size_t>(kv.first.size(), 48));
  std::printf("\nmetadata: %zu keys\n", f.metadata().size());
  if (!f.metadata().empty()) std::printf("  %-*s  %-16s  %s\n", static_cast<int>(key_width), "KEY", "TYPE", "VALUE");
  for (const auto& [key, v] : f.metadata()) {
    std::printf("  %-*s  %-16s  %s\n", static_cast<int>(key_width), quote(key, 200, false).c_str(),
                gguf::describe_type(v).c_str(), format_value(v, lim).c_str());
  }

  size_t name_width = 4, shape_width = 5;
  for (const auto& t : f.tensors()) {
    name_width = std::max(name_width, quote(t.name, SIZE_MAX, false).size());
    shape_width = std::max(shape_width, shape(t).size());
  }
  if (f.tensors().empty()) {
    std::printf("\ntensors: 0\n");
    return;
  }
  std::printf("\ntensors: %zu (offsets relative to the data section at byte %llu)\n", f.tensors().size(),
              static_cast<unsigned long long>(f.data_offset()));
  std::printf("  %-*s  %-8s  %-*s  %12s  %12s\n", static_cast<int>(name_width), "NAME", "TYPE",
              static_cast<int>(shape_width), "SHAPE", "OFFSET", "BYTES");
  uint64_t total = 0;
  for (const auto& t : f.tensors()) {
    const std::string name = quote(t.name, SIZE_MAX, false);
    std::printf("  %-*s  %-8s  %-*s  %12llu  %12llu\n", static_cast<int>(name_width), name.c_str(),
                std::string(ggml_type_name(t.type)).c_str(), static_cast<int>(shape_width), shape(t).c_str(),
                static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(t.n_bytes));
    total += t.n_bytes;
  }
  std::printf("  total tensor data: %llu bytes\n", static_cast<unsigned long long>(total));
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
  std::string path;
  bool full = false;
  try {
    Args a(argc, argv);
    while (a.next()) {
      if (a.is("-h", "--help")) {
        std::fputs(kInspectUsage, stdout);
        return 0;
      } else if (a.is("-m", "--model")) {
        path = a.value();
      } else if (a.is("--full")) {
        full = true;
      } else if (a.positional()) {
        if (!path.empty()) throw ArgError("more than one model file given ('" + path + "', '" + a.current() + "')");
        path = a.current();
      } else {
        a.unknown();
      }
    }
    if (path.empty()) throw ArgError("no model file given");
  } catch (const ArgError& e) {
    std::fprintf(stderr, "ridge inspect: %s\n\n%s", e.what(), kInspectUsage);
    return 1;
  }

  try {
    const gguf::File f = gguf::File::open(path);
    // open() validates the whole file before anything is printed: a corrupt
    // file gives one error message, never a half-printed table.
    print_file(f, full ? kFull : kAbbreviated);
    if (std::fflush(stdout) != 0) {
      std::fprintf(stderr, "ridge inspect: cannot write output\n");
      return 1;
    }
    return 0;
  } catch (const gguf::Error& e) {
    std::fprintf(stderr, "ridge inspect: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge inspect: %s: %s\n", path.c_str(), e.what());
  }
  return 1;
}

}  // namespace ridge::cli
