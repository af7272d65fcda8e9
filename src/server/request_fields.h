#pragma once
// Typed, range-checked reads of one field of a JSON request object. Every
// failure is an ApiError 400 whose `param` names the field (with its path, e.g.
// "messages[2].content"), so a client sees exactly what to fix. JSON null
// counts as "absent" for optional fields, as in OpenAI's API.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ridge::server::fields {

// The value of `key` in `obj`, or nullptr when absent or null.
const nlohmann::json* find(const nlohmann::json& obj, const std::string& key);

std::optional<std::string> opt_string(const nlohmann::json& obj, const std::string& key, const std::string& path);
std::optional<bool> opt_bool(const nlohmann::json& obj, const std::string& key, const std::string& path);
// A JSON integer (not a float, not a numeric string) in [lo, hi].
std::optional<int64_t> opt_int(const nlohmann::json& obj, const std::string& key, const std::string& path, int64_t lo,
                               int64_t hi);
// A finite JSON number in [lo, hi].
std::optional<double> opt_number(const nlohmann::json& obj, const std::string& key, const std::string& path,
                                 double lo, double hi);
// Any 64-bit integer, signed or unsigned (a seed); negative values wrap.
std::optional<uint64_t> opt_u64_bits(const nlohmann::json& obj, const std::string& key, const std::string& path);

// A JSON integer value (already extracted) in [lo, hi]; `path` names it.
int64_t int_value(const nlohmann::json& v, const std::string& path, int64_t lo, int64_t hi);

// "a string", "an integer", ... for messages.
std::string describe_type(const nlohmann::json& v);

}  // namespace ridge::server::fields
