#include "server/openai_responses.h"

#include <random>

#include "server/api_error.h"

namespace ridge::server {

using nlohmann::json;

std::string sse_data(const json& payload) { return "data: " + dump_json(payload) + "\n\n"; }

std::string sse_done() { return "data: [DONE]\n\n"; }

json usage_json(const TokenUsage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

namespace {

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

json base_chunk(const ResponseMeta& meta, const char* object, bool include_usage) {
  json c = {{"id", meta.id}, {"object", object}, {"created", meta.created}, {"model", meta.model},
            {"system_fingerprint", "ridge"}};
  if (include_usage) c["usage"] = nullptr;
  return c;
}

}  // namespace

json chat_logprobs_json(const std::vector<ScoredToken>& tokens, const PieceOf& piece) {
  json content = json::array();
  for (const auto& t : tokens) {
    const std::string p = piece(t.token);
    json top = json::array();
    for (const auto& [id, lp] : t.top) {
      const std::string tp = piece(id);
      top.push_back({{"token", tp}, {"logprob", lp}, {"bytes", bytes_of(tp)}});
    }
    content.push_back({{"token", p}, {"logprob", t.logprob}, {"bytes", bytes_of(p)}, {"top_logprobs", top}});
  }
  return {{"content", content}, {"refusal", nullptr}};
}

json completion_logprobs_json(const std::vector<ScoredToken>& tokens, const PieceOf& piece, int64_t text_offset0) {
  json toks = json::array(), lps = json::array(), tops = json::array(), offs = json::array();
  int64_t off = text_offset0;
  for (const auto& t : tokens) {
    const std::string p = piece(t.token);
    toks.push_back(p);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& [id, lp] : t.top) top[piece(id)] = lp;
    tops.push_back(top);
    offs.push_back(off);
    off += static_cast<int64_t>(p.size());
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

json chat_chunk(const ResponseMeta& meta, int index, const json& delta, const std::optional<std::string>& finish_reason,
                const json& logprobs, bool include_usage) {
  json c = base_chunk(meta, "chat.completion.chunk", include_usage);
  json choice = {{"index", index}, {"delta", delta}, {"logprobs", logprobs}, {"finish_reason", nullptr}};
  if (finish_reason) choice["finish_reason"] = *finish_reason;
  c["choices"] = json::array({choice});
  return c;
}

json chat_usage_chunk(const ResponseMeta& meta, const TokenUsage& usage) {
  json c = base_chunk(meta, "chat.completion.chunk", false);
  c["choices"] = json::array();
  c["usage"] = usage_json(usage);
  return c;
}

json completion_chunk(const ResponseMeta& meta, int index, const std::string& text,
                      const std::optional<std::string>& finish_reason, const json& logprobs, bool include_usage) {
  json c = base_chunk(meta, "text_completion", include_usage);
  json choice = {{"index", index}, {"text", text}, {"logprobs", logprobs}, {"finish_reason", nullptr}};
  if (finish_reason) choice["finish_reason"] = *finish_reason;
  c["choices"] = json::array({choice});
  return c;
}

json completion_usage_chunk(const ResponseMeta& meta, const TokenUsage& usage) {
  json c = base_chunk(meta, "text_completion", false);
  c["choices"] = json::array();
  c["usage"] = usage_json(usage);
  return c;
}

json chat_completion_json(const ResponseMeta& meta, const std::vector<FinishedChoice>& choices, const TokenUsage& usage) {
  json cs = json::array();
  for (size_t i = 0; i < choices.size(); ++i)
    cs.push_back({{"index", i},
                  {"message", {{"role", "assistant"}, {"content", choices[i].text}, {"refusal", nullptr}}},
                  {"logprobs", choices[i].logprobs},
                  {"finish_reason", choices[i].finish_reason}});
  return {{"id", meta.id},         {"object", "chat.completion"}, {"created", meta.created},
          {"model", meta.model},   {"system_fingerprint", "ridge"}, {"choices", cs},
          {"usage", usage_json(usage)}};
}

json text_completion_json(const ResponseMeta& meta, const std::vector<FinishedChoice>& choices, const TokenUsage& usage) {
  json cs = json::array();
  for (size_t i = 0; i < choices.size(); ++i)
    cs.push_back({{"index", i},
                  {"text", choices[i].text},
                  {"logprobs", choices[i].logprobs},
                  {"finish_reason", choices[i].finish_reason}});
  return {{"id", meta.id},       {"object", "text_completion"}, {"created", meta.created},
          {"model", meta.model}, {"system_fingerprint", "ridge"}, {"choices", cs},
          {"usage", usage_json(usage)}};
}

std::string new_response_id(const std::string& prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += hex[rng() & 15];
  return id;
}

std::string base64_encode(const void* data, size_t size) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const uint32_t v = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8) | p[i + 2];
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (size - i == 1) {
    const uint32_t v = uint32_t(p[i]) << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (size - i == 2) {
    const uint32_t v = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace ridge::server
