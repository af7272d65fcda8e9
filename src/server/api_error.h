#pragma once
// Errors the HTTP API answers with, in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}} plus the HTTP status (and a
// Retry-After for 429/503). Handlers throw ApiError; the server turns it into
// the response, so every refusal names the field at fault the same way.
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace ridge::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error",
           std::optional<std::string> param = std::nullopt, std::optional<std::string> code = std::nullopt)
      : std::runtime_error(message), status_(status), type_(std::move(type)), param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::optional<std::string>& param() const { return param_; }
  const std::optional<std::string>& code() const { return code_; }
  // Seconds the client should wait before retrying (429/503), 0 when not applicable.
  int retry_after() const { return status_ == 429 || status_ == 503 ? 1 : 0; }

  // {"error": {...}}
  nlohmann::json body() const;

 private:
  int status_;
  std::string type_;
  std::optional<std::string> param_;
  std::optional<std::string> code_;
};

// The common refusals, so their wording and codes stay consistent.
ApiError bad_field(const std::string& param, const std::string& message);    // 400, code "invalid_value"
ApiError missing_field(const std::string& param);                            // 400, code "missing_required_parameter"
ApiError unsupported_field(const std::string& param);                        // 400, code "unsupported_parameter"
ApiError unknown_field(const std::string& param);                            // 400, code "unknown_parameter"
ApiError model_not_found(const std::string& model);                          // 404, code "model_not_found"
ApiError invalid_api_key();                                                  // 401, code "invalid_api_key"
ApiError overloaded(const std::string& why);                                 // 503, type "server_error"

// Serializes JSON for the wire: never throws on text that is not UTF-8 (a
// token piece may be half a character); bad bytes become U+FFFD.
std::string dump_json(const nlohmann::json& j);

}  // namespace ridge::server
