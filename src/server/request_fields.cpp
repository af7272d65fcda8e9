#include "server/request_fields.h"

#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace ridge::server::fields {

namespace {

ApiError wrong_type(const std::string& path, const char* want, const nlohmann::json& got) {
  return bad_field(path, "'" + path + "' must be " + want + ", got " + describe_type(got));
}

std::string number_text(double x) {
  nlohmann::json j = x;
  return j.dump();
}

}  // namespace

std::string describe_type(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number with a fraction or exponent";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

const nlohmann::json* find(const nlohmann::json& obj, const std::string& key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> opt_string(const nlohmann::json& obj, const std::string& key, const std::string& path) {
  const auto* v = find(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw wrong_type(path, "a string", *v);
  return v->get<std::string>();
}

std::optional<bool> opt_bool(const nlohmann::json& obj, const std::string& key, const std::string& path) {
  const auto* v = find(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw wrong_type(path, "a boolean", *v);
  return v->get<bool>();
}

int64_t int_value(const nlohmann::json& v, const std::string& path, int64_t lo, int64_t hi) {
  const std::string range = "between " + std::to_string(lo) + " and " + std::to_string(hi);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi))
      throw bad_field(path, "'" + path + "' must be " + range + ", got " + std::to_string(u));
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) throw bad_field(path, "'" + path + "' must be " + range + ", got " + std::to_string(x));
    return x;
  }
  if (v.is_number_float())
    throw bad_field(path, "'" + path + "' must be an integer " + range + ", got " + number_text(v.get<double>()));
  throw wrong_type(path, "an integer", v);
}

std::optional<int64_t> opt_int(const nlohmann::json& obj, const std::string& key, const std::string& path, int64_t lo,
                               int64_t hi) {
  const auto* v = find(obj, key);
  if (!v) return std::nullopt;
  return int_value(*v, path, lo, hi);
}

std::optional<double> opt_number(const nlohmann::json& obj, const std::string& key, const std::string& path,
                                 double lo, double hi) {
  const auto* v = find(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw wrong_type(path, "a number", *v);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw bad_field(path, "'" + path + "' must be between " + number_text(lo) + " and " + number_text(hi) + ", got " +
                              (std::isfinite(x) ? number_text(x) : std::string("a number out of range")));
  return x;
}

std::optional<uint64_t> opt_u64_bits(const nlohmann::json& obj, const std::string& key, const std::string& path) {
  const auto* v = find(obj, key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer()) return static_cast<uint64_t>(v->get<int64_t>());
  if (v->is_number_float())
    throw bad_field(path, "'" + path + "' must be an integer that fits in 64 bits, got " + number_text(v->get<double>()));
  throw wrong_type(path, "an integer", *v);
}

}  // namespace ridge::server::fields
