#include "server/api_error.h"

namespace ridge::server {

nlohmann::json ApiError::body() const {
  nlohmann::json e = {{"message", what()}, {"type", type_}, {"param", nullptr}, {"code", nullptr}};
  if (param_) e["param"] = *param_;
  if (code_) e["code"] = *code_;
  return {{"error", e}};
}

ApiError bad_field(const std::string& param, const std::string& message) {
  return ApiError(400, message, "invalid_request_error", param, "invalid_value");
}

ApiError missing_field(const std::string& param) {
  return ApiError(400, "missing required parameter '" + param + "'", "invalid_request_error", param,
                  "missing_required_parameter");
}

ApiError unsupported_field(const std::string& param) {
  return ApiError(400, "'" + param + "' is not supported yet by ridge", "invalid_request_error", param,
                  "unsupported_parameter");
}

ApiError unknown_field(const std::string& param) {
  return ApiError(400, "unrecognized request argument supplied: '" + param + "'", "invalid_request_error", param,
                  "unknown_parameter");
}

ApiError model_not_found(const std::string& model) {
  return ApiError(404, "The model '" + model + "' does not exist", "invalid_request_error", "model",
                  "model_not_found");
}

ApiError invalid_api_key() {
  return ApiError(401, "Missing or incorrect API key: send 'Authorization: Bearer <key>'", "invalid_request_error",
                  std::nullopt, "invalid_api_key");
}

ApiError overloaded(const std::string& why) {
  return ApiError(503, why, "server_error", std::nullopt, "server_overloaded");
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ridge::server
