#pragma once
// Parses a request body as JSON the strict way an API server must: the
// Content-Type must be JSON, the text must be valid UTF-8 JSON, nesting is
// bounded (a deep body cannot exhaust the stack) and duplicate keys are
// refused (which of two values "wins" differs between parsers, so a proxy
// and ridge could disagree about what was asked). Every failure is an ApiError 400/415.
#include <string_view>

#include <nlohmann/json.hpp>

namespace ridge::server {

struct JsonBodyLimits {
  int max_depth = 64;
};

// `content_type` is the request's header value ("" when absent, which is
// accepted: many clients omit it). The top level must be an object.
nlohmann::json parse_json_body(std::string_view content_type, std::string_view body, JsonBodyLimits limits = {});

}  // namespace ridge::server
