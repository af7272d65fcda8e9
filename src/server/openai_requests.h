#pragma once
// The OpenAI-compatible request bodies, validated: every field's JSON type and
// range is checked and turned into what the engine takes. Fields ridge does not
// implement yet but that would change the result (tools, response_format, ...)
// are refused with a 400 naming them, never silently ignored; unknown fields
// are refused too. Pure functions of the JSON and the served model's sizes, so
// they are unit-tested without a model.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/sampler.h"

namespace ridge::server {

// What validation needs to know about the model being served.
struct ServedModel {
  std::string id;        // the name clients use in "model"
  int32_t n_vocab = 0;
  int64_t n_ctx = 0;     // positions per sequence (prompt + completion)
};

// Fields shared by /v1/chat/completions and /v1/completions.
struct GenerationOptions {
  std::string model;
  sampling::SamplingParams sampling;
  std::optional<uint64_t> seed;  // nullopt: the server draws one per request
  int64_t max_tokens = -1;       // -1: until end of generation or the context is full
  int n = 1;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;    // stream_options.include_usage
  int top_logprobs = -1;         // -1: no logprobs; else the number of alternatives per token
};

struct ChatCompletionRequest {
  GenerationOptions gen;
  // The conversation, normalised for the chat template: each message has a
  // string "role" (developer becomes system) and "content" string (text parts
  // joined), plus "name", "tool_calls" (arguments parsed into objects) and
  // "tool_call_id" where given.
  nlohmann::json messages;
};

struct CompletionRequest {
  GenerationOptions gen;
  std::optional<std::string> prompt_text;  // when the prompt is text
  std::vector<int32_t> prompt_tokens;      // when the prompt is token ids
};

struct EmbeddingRequest {
  std::string model;
  struct Input {
    std::optional<std::string> text;
    std::vector<int32_t> tokens;
  };
  std::vector<Input> inputs;
  bool base64 = false;  // encoding_format "base64": little-endian float32 bytes
};

struct TokenizeRequest {
  std::string content;
  bool add_special = false;
  bool parse_special = true;
  bool with_pieces = false;
};

struct DetokenizeRequest {
  std::vector<int32_t> tokens;
};

// Limits beyond the model's sizes.
inline constexpr int kMaxChoices = 16;
inline constexpr int kMaxTopLogprobs = 20;
inline constexpr size_t kMaxStopStrings = 4;
inline constexpr size_t kMaxLogitBias = 1024;
inline constexpr size_t kMaxEmbeddingInputs = 256;

// Each throws ApiError (400, or 404 model_not_found for a model not served).
ChatCompletionRequest parse_chat_completion_request(const nlohmann::json& body, const ServedModel& model);
CompletionRequest parse_completion_request(const nlohmann::json& body, const ServedModel& model);
EmbeddingRequest parse_embedding_request(const nlohmann::json& body, const ServedModel& model);
TokenizeRequest parse_tokenize_request(const nlohmann::json& body);
DetokenizeRequest parse_detokenize_request(const nlohmann::json& body, const ServedModel& model);
// /apply-template: {"messages": [...]} validated as for chat; returns the normalised messages.
nlohmann::json parse_apply_template_request(const nlohmann::json& body);

// Validates and normalises a chat "messages" array (see ChatCompletionRequest).
nlohmann::json normalize_messages(const nlohmann::json& messages);

}  // namespace ridge::server
