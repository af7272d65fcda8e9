#pragma once
// Minimal command-line parsing shared by the subcommands: flags spelled as in
// llama.cpp (`-m`/`--model`, `-n`, `--temp`), each with a value or none.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf/types.h"

namespace ridge::cli {

class ArgError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The KV cache element types asked for on the command line. ridge keeps K and
// V in one type, so the two must agree.
struct KvCacheTypes {
  GgmlType k = GgmlType::F16;
  GgmlType v = GgmlType::F16;
  GgmlType resolve() const {
    if (k != v)
      throw ArgError("--cache-type-k and --cache-type-v differ (" + std::string(ggml_type_name(k)) + ", " +
                     std::string(ggml_type_name(v)) + "); ridge stores K and V in one type");
    return k;
  }
};

// Walks argv. Usage:
//   Args a(argc, argv);
//   while (a.next()) {
//     if (a.is("-m", "--model")) model = a.value();
//     else if (a.is("-n", "--n-predict")) n = a.int_value(-1, 1 << 30);
//     else if (a.is("--ids")) ids = true;
//     else if (a.positional()) files.push_back(a.current());
//     else a.unknown();
//   }
class Args {
 public:
  Args(int argc, char** argv) : argv_(argv + 0, argv + argc) {}
  bool next() { return ++pos_ < static_cast<int>(argv_.size()); }
  const std::string& current() const { return argv_[pos_]; }
  bool is(const char* a, const char* b = nullptr) const {
    return current() == a || (b && current() == b);
  }
  bool positional() const { return current().empty() || current()[0] != '-' || current() == "-"; }
  std::string value() {
    std::string flag = current();
    if (pos_ + 1 >= static_cast<int>(argv_.size())) throw ArgError("missing value for " + flag);
    return argv_[++pos_];
  }
  int64_t int_value(int64_t lo, int64_t hi) {
    std::string flag = current();
    std::string v = value();
    size_t used = 0;
    int64_t x = 0;
    try {
      x = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || v.empty()) throw ArgError("invalid integer for " + flag + ": '" + v + "'");
    if (x < lo || x > hi)
      throw ArgError(flag + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + v);
    return x;
  }
  double float_value(double lo, double hi) {
    std::string flag = current();
    std::string v = value();
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || v.empty() || !(x == x)) throw ArgError("invalid number for " + flag + ": '" + v + "'");
    if (x < lo || x > hi)
      throw ArgError(flag + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + v);
    return x;
  }
  [[noreturn]] void unknown() const { throw ArgError("unknown argument: " + current()); }

  // -ctk / --cache-type-k and -ctv / --cache-type-v (llama.cpp's spelling): f16 or f32.
  bool cache_type_flag(KvCacheTypes& types) {
    const bool k = is("-ctk", "--cache-type-k"), v = is("-ctv", "--cache-type-v");
    if (!k && !v) return false;
    const std::string flag = current(), name = value();
    GgmlType t;
    if (name == "f16") t = GgmlType::F16;
    else if (name == "f32") t = GgmlType::F32;
    else throw ArgError(flag + " must be f16 or f32, got '" + name + "'");
    (k ? types.k : types.v) = t;
    return true;
  }

 private:
  std::vector<std::string> argv_;
  int pos_ = 0;  // argv_[0] is the subcommand name
};

}  // namespace ridge::cli
