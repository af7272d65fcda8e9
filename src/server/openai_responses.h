#pragma once
// Builds the OpenAI-shaped response bodies and server-sent-event frames: chat
// and text completion objects and their streaming chunks, usage, logprobs.
// Pure functions of what the engine produced, so the wire shapes are unit-tested.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ridge::server {

// One SSE event carrying JSON: "data: <json>\n\n" (the JSON on one line).
std::string sse_data(const nlohmann::json& payload);
// The stream terminator OpenAI clients wait for: "data: [DONE]\n\n".
std::string sse_done();

struct TokenUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
};
nlohmann::json usage_json(const TokenUsage& u);

// A sampled token with its logprob and the best alternatives.
struct ScoredToken {
  int32_t token;
  float logprob;
  std::vector<std::pair<int32_t, float>> top;
};
using PieceOf = std::function<std::string(int32_t)>;  // token id -> its text

// Chat: {"content": [{"token","logprob","bytes","top_logprobs":[...]}], "refusal": null}
nlohmann::json chat_logprobs_json(const std::vector<ScoredToken>& tokens, const PieceOf& piece);
// Completions: {"tokens","token_logprobs","top_logprobs","text_offset"}; `text_offset0` is
// the offset of the first token's text within the choice's text.
nlohmann::json completion_logprobs_json(const std::vector<ScoredToken>& tokens, const PieceOf& piece,
                                        int64_t text_offset0);

// Identity of one response, shared by all its chunks.
struct ResponseMeta {
  std::string id;      // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0; // unix seconds
  std::string model;
};

// One streamed chat chunk for choice `index`; `delta` e.g. {"content": "..."}.
nlohmann::json chat_chunk(const ResponseMeta& meta, int index, const nlohmann::json& delta,
                          const std::optional<std::string>& finish_reason, const nlohmann::json& logprobs,
                          bool include_usage);
// The last chunk when stream_options.include_usage: no choices, the usage.
nlohmann::json chat_usage_chunk(const ResponseMeta& meta, const TokenUsage& usage);
nlohmann::json completion_chunk(const ResponseMeta& meta, int index, const std::string& text,
                                const std::optional<std::string>& finish_reason, const nlohmann::json& logprobs,
                                bool include_usage);
nlohmann::json completion_usage_chunk(const ResponseMeta& meta, const TokenUsage& usage);

struct FinishedChoice {
  std::string text;
  std::string finish_reason;
  nlohmann::json logprobs;  // null when not requested
};
nlohmann::json chat_completion_json(const ResponseMeta& meta, const std::vector<FinishedChoice>& choices,
                                    const TokenUsage& usage);
nlohmann::json text_completion_json(const ResponseMeta& meta, const std::vector<FinishedChoice>& choices,
                                    const TokenUsage& usage);

// A response id: prefix + 24 random hex digits.
std::string new_response_id(const std::string& prefix);

// Standard base64 (RFC 4648, with padding) of raw bytes.
std::string base64_encode(const void* data, size_t size);

}  // namespace ridge::server
