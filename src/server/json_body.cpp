#include "server/json_body.h"

#include <set>
#include <string>
#include <vector>

#include "server/api_error.h"

namespace ridge::server {

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

bool is_json_media_type(std::string_view content_type) {
  std::string t = lower(content_type);
  const size_t semi = t.find(';');
  if (semi != std::string::npos) t.resize(semi);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(t.begin());
  return t == "application/json" || (t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0);
}

struct DepthExceeded {};
struct DuplicateKey {
  std::string key;
};

}  // namespace

nlohmann::json parse_json_body(std::string_view content_type, std::string_view body, JsonBodyLimits limits) {
  if (!content_type.empty() && !is_json_media_type(content_type))
    throw ApiError(415, "Content-Type must be application/json, got '" + std::string(content_type) + "'",
                   "invalid_request_error", std::nullopt, "unsupported_media_type");
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw ApiError(400, "the request body is empty; expected a JSON object", "invalid_request_error", std::nullopt,
                   "invalid_json");

  // One set of seen keys per open object; arrays push an empty marker so the
  // stack lines up with nesting.
  std::vector<std::set<std::string>> open;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) -> bool {
    using E = nlohmann::json::parse_event_t;
    switch (ev) {
      case E::object_start:
      case E::array_start:
        if (depth >= limits.max_depth) throw DepthExceeded{};
        open.emplace_back();
        break;
      case E::object_end:
      case E::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case E::key:
        if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second)
          throw DuplicateKey{parsed.get<std::string>()};
        break;
      default:
        break;
    }
    return true;
  };

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body.begin(), body.end(), on_event, /*allow_exceptions=*/true,
                              /*ignore_comments=*/false);
  } catch (const DepthExceeded&) {
    throw ApiError(400, "the JSON body nests deeper than " + std::to_string(limits.max_depth) + " levels",
                   "invalid_request_error", std::nullopt, "invalid_json");
  } catch (const DuplicateKey& d) {
    throw ApiError(400, "the JSON body has the key '" + d.key + "' twice in one object", "invalid_request_error",
                   d.key, "invalid_json");
  } catch (const nlohmann::json::exception& e) {
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what(), "invalid_request_error",
                   std::nullopt, "invalid_json");
  }
  if (!j.is_object())
    throw ApiError(400, std::string("the request body must be a JSON object, got ") + j.type_name(),
                   "invalid_request_error", std::nullopt, "invalid_json");
  return j;
}

}  // namespace ridge::server
