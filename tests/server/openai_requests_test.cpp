// Validation of the OpenAI request bodies: every wrong type, out-of-range
// number, bad prompt or message, and unsupported or unknown field is a 400
// that names the field (BAD-INPUTS "HTTP API" 2-5); good requests become the
// engine's parameters.
#include <gtest/gtest.h>

#include <limits>

#include "server/api_error.h"
#include "server/openai_requests.h"

using nlohmann::json;
using namespace ridge::server;

namespace {

const ServedModel kModel{"tiny", 512, 256};

json chat(json extra = json::object()) {
  json j = {{"model", "tiny"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

json completion(json extra = json::object()) {
  json j = {{"model", "tiny"}, {"prompt", "Once upon a time"}};
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

// The refusal of `body`, checking it is an OpenAI-shaped 4xx.
template <typename F>
ApiError refusal(F&& parse, const json& body) {
  try {
    parse(body, kModel);
  } catch (const ApiError& e) {
    EXPECT_GE(e.status(), 400);
    EXPECT_LT(e.status(), 500);
    EXPECT_TRUE(e.body()["error"].contains("message"));
    return e;
  }
  ADD_FAILURE() << "accepted: " << body.dump();
  return ApiError(0, "");
}

ApiError chat_refusal(const json& body) { return refusal(parse_chat_completion_request, body); }
ApiError completion_refusal(const json& body) { return refusal(parse_completion_request, body); }

void expect_param(const ApiError& e, const std::string& param, int status = 400) {
  EXPECT_EQ(e.status(), status) << e.what();
  EXPECT_EQ(e.param().value_or("<none>"), param) << e.what();
  EXPECT_NE(std::string(e.what()).find(param.substr(0, param.find('['))), std::string::npos) << e.what();
}

}  // namespace

TEST(ChatRequest, GoodRequestBecomesEngineParameters) {
  auto r = parse_chat_completion_request(
      chat({{"temperature", 0.5}, {"top_p", 0.9}, {"max_tokens", 16}, {"n", 2}, {"stop", "\n"}, {"seed", 7},
            {"presence_penalty", 0.5}, {"frequency_penalty", -0.5}, {"logit_bias", {{"42", -100}, {"7", 3.5}}},
            {"logprobs", true}, {"top_logprobs", 3}, {"stream", true}, {"stream_options", {{"include_usage", true}}},
            {"top_k", 40}, {"min_p", 0.05}, {"repeat_penalty", 1.1}, {"user", "u1"}}),
      kModel);
  EXPECT_EQ(r.gen.model, "tiny");
  EXPECT_FLOAT_EQ(r.gen.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.gen.sampling.top_p, 0.9f);
  EXPECT_EQ(r.gen.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(r.gen.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r.gen.sampling.repeat_penalty, 1.1f);
  EXPECT_FLOAT_EQ(r.gen.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.gen.sampling.frequency_penalty, -0.5f);
  ASSERT_EQ(r.gen.sampling.logit_bias.size(), 2u);
  EXPECT_EQ(r.gen.max_tokens, 16);
  EXPECT_EQ(r.gen.n, 2);
  EXPECT_EQ(r.gen.stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(r.gen.seed, 7u);
  EXPECT_EQ(r.gen.top_logprobs, 3);
  EXPECT_TRUE(r.gen.stream);
  EXPECT_TRUE(r.gen.include_usage);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0]["content"], "hi");
}

TEST(ChatRequest, DefaultsAreOpenAIs) {
  json body = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  auto r = parse_chat_completion_request(body, kModel);
  EXPECT_EQ(r.gen.model, "tiny");  // "model" may be left out: the one served
  EXPECT_FLOAT_EQ(r.gen.sampling.temperature, 1.0f);
  EXPECT_FLOAT_EQ(r.gen.sampling.top_p, 1.0f);
  EXPECT_EQ(r.gen.sampling.top_k, 0);
  EXPECT_FLOAT_EQ(r.gen.sampling.min_p, 0.0f);
  EXPECT_EQ(r.gen.max_tokens, -1);
  EXPECT_EQ(r.gen.n, 1);
  EXPECT_FALSE(r.gen.seed.has_value());
  EXPECT_EQ(r.gen.top_logprobs, -1);
  EXPECT_FALSE(r.gen.stream);
  // null means "not set" for optional fields.
  auto n = parse_chat_completion_request(chat({{"temperature", nullptr}, {"stop", nullptr}, {"tools", nullptr}}), kModel);
  EXPECT_FLOAT_EQ(n.gen.sampling.temperature, 1.0f);
}

TEST(ChatRequest, MaxCompletionTokensWinsOverMaxTokens) {
  auto r = parse_chat_completion_request(chat({{"max_tokens", 5}, {"max_completion_tokens", 9}}), kModel);
  EXPECT_EQ(r.gen.max_tokens, 9);
}

TEST(ChatRequest, WrongTypesNameTheField) {
  struct Case {
    const char* field;
    json value;
  };
  for (const auto& c : std::vector<Case>{{"temperature", "0.5"},
                                         {"temperature", true},
                                         {"top_p", json::array()},
                                         {"max_tokens", "16"},
                                         {"max_tokens", 1.5},
                                         {"n", json::object()},
                                         {"stop", 5},
                                         {"stop", json::array({1})},
                                         {"seed", "7"},
                                         {"seed", 1.5},
                                         {"logit_bias", json::array()},
                                         {"logit_bias", {{"5", "high"}}},
                                         {"logprobs", 1},
                                         {"stream", "yes"},
                                         {"top_k", 4.5},
                                         {"presence_penalty", "0"},
                                         {"user", 5},
                                         {"model", 5}}) {
    SCOPED_TRACE(std::string(c.field) + " = " + c.value.dump());
    auto e = chat_refusal(chat({{c.field, c.value}}));
    EXPECT_EQ(e.status(), 400);
    ASSERT_TRUE(e.param().has_value());
    EXPECT_EQ(e.param()->substr(0, std::string(c.field).size()), c.field);
  }
}

TEST(ChatRequest, NumbersOutOfRangeAreRefused) {
  struct Case {
    const char* field;
    json value;
  };
  const double huge = 1e308 * 10;  // +inf
  for (const auto& c : std::vector<Case>{{"max_tokens", -1},
                                         {"max_tokens", 0},
                                         {"max_tokens", 257},  // beyond the context
                                         {"max_tokens", int64_t(1) << 62},
                                         {"max_tokens", std::numeric_limits<uint64_t>::max()},
                                         {"max_completion_tokens", -5},
                                         {"n", 0},
                                         {"n", -1},
                                         {"n", 1000000},
                                         {"temperature", -0.1},
                                         {"temperature", 2.5},
                                         {"temperature", huge},
                                         {"top_p", -0.01},
                                         {"top_p", 1.01},
                                         {"top_k", -1},
                                         {"min_p", 1.5},
                                         {"repeat_penalty", 0},
                                         {"repeat_penalty", -1},
                                         {"presence_penalty", -3},
                                         {"frequency_penalty", 2.5},
                                         {"top_logprobs", 21},
                                         {"top_logprobs", -1}}) {
    SCOPED_TRACE(std::string(c.field) + " = " + c.value.dump());
    json body = chat({{c.field, c.value}});
    if (std::string(c.field) == "top_logprobs") body["logprobs"] = true;
    expect_param(chat_refusal(body), c.field);
  }
}

TEST(ChatRequest, SeedTakesAny64BitInteger) {
  EXPECT_EQ(parse_chat_completion_request(chat({{"seed", std::numeric_limits<uint64_t>::max()}}), kModel).gen.seed,
            std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(parse_chat_completion_request(chat({{"seed", -1}}), kModel).gen.seed, std::numeric_limits<uint64_t>::max());
  // 2^64 does not fit: the JSON parser makes it a float, which is refused.
  auto body = json::parse(R"({"messages":[{"role":"user","content":"x"}],"seed":18446744073709551616})");
  expect_param(chat_refusal(body), "seed");
}

TEST(ChatRequest, LogitBiasIdsMustBeInTheVocabulary) {
  expect_param(chat_refusal(chat({{"logit_bias", {{"512", 1}}}})), "logit_bias");
  expect_param(chat_refusal(chat({{"logit_bias", {{"-1", 1}}}})), "logit_bias");
  expect_param(chat_refusal(chat({{"logit_bias", {{"abc", 1}}}})), "logit_bias");
  expect_param(chat_refusal(chat({{"logit_bias", {{"99999999999999999999", 1}}}})), "logit_bias");
  expect_param(chat_refusal(chat({{"logit_bias", {{"5", 101}}}})), "logit_bias.5");
}

TEST(ChatRequest, StopTakesUpToFourNonEmptyStrings) {
  auto r = parse_chat_completion_request(chat({{"stop", {"a", "b", "c", "d"}}}), kModel);
  EXPECT_EQ(r.gen.stop.size(), 4u);
  expect_param(chat_refusal(chat({{"stop", {"a", "b", "c", "d", "e"}}})), "stop");
  expect_param(chat_refusal(chat({{"stop", ""}})), "stop");
  expect_param(chat_refusal(chat({{"stop", {"a", ""}}})), "stop[1]");
}

TEST(ChatRequest, LogprobOptionsMustAgree) {
  expect_param(chat_refusal(chat({{"top_logprobs", 2}})), "top_logprobs");
  EXPECT_EQ(parse_chat_completion_request(chat({{"logprobs", true}}), kModel).gen.top_logprobs, 0);
  EXPECT_EQ(parse_chat_completion_request(chat({{"logprobs", false}}), kModel).gen.top_logprobs, -1);
}

TEST(ChatRequest, StreamOptionsNeedStream) {
  expect_param(chat_refusal(chat({{"stream_options", {{"include_usage", true}}}})), "stream_options");
  expect_param(chat_refusal(chat({{"stream", true}, {"stream_options", "yes"}})), "stream_options");
  expect_param(chat_refusal(chat({{"stream", true}, {"stream_options", {{"include_usage", 1}}}})),
               "stream_options.include_usage");
  expect_param(chat_refusal(chat({{"stream", true}, {"stream_options", {{"bogus", 1}}}})), "stream_options.bogus");
}

TEST(ChatRequest, FieldsThatWouldChangeTheResultAreRefusedNotIgnored) {
  for (const char* f : {"tools", "tool_choice", "functions", "function_call", "response_format", "audio", "modalities",
                        "prediction", "reasoning_effort"}) {
    json v = std::string(f) == "tools" ? json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})
                                       : json({{"type", "json_object"}});
    auto e = chat_refusal(chat({{f, v}}));
    expect_param(e, f);
    EXPECT_NE(std::string(e.what()).find("not supported yet"), std::string::npos) << e.what();
    EXPECT_EQ(e.code().value_or(""), "unsupported_parameter");
  }
  // Forms that ask for nothing are accepted.
  EXPECT_NO_THROW(parse_chat_completion_request(chat({{"tools", json::array()}}), kModel));
  EXPECT_NO_THROW(parse_chat_completion_request(chat({{"tool_choice", "none"}}), kModel));
  EXPECT_NO_THROW(parse_chat_completion_request(chat({{"response_format", {{"type", "text"}}}}), kModel));
  EXPECT_NO_THROW(parse_chat_completion_request(chat({{"metadata", {{"k", "v"}}}, {"store", false}}), kModel));
}

TEST(ChatRequest, UnknownFieldsAreRefused) {
  auto e = chat_refusal(chat({{"temprature", 0.5}}));
  expect_param(e, "temprature");
  EXPECT_EQ(e.code().value_or(""), "unknown_parameter");
}

TEST(ChatRequest, UnknownModelIs404) {
  auto e = chat_refusal(chat({{"model", "gpt-4o"}}));
  EXPECT_EQ(e.status(), 404);
  EXPECT_EQ(e.code().value_or(""), "model_not_found");
  EXPECT_NE(std::string(e.what()).find("gpt-4o"), std::string::npos);
}

TEST(ChatMessages, ContentMayBeTextParts) {
  auto r = parse_chat_completion_request(
      chat({{"messages", json::array({{{"role", "developer"}, {"content", "be brief"}},
                                      {{"role", "user"},
                                       {"content", json::array({{{"type", "text"}, {"text", "a"}},
                                                                {{"type", "text"}, {"text", "b"}}})}},
                                      {{"role", "assistant"}, {"content", "ok"}, {"name", "bot"}}})}}),
      kModel);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "a\nb");
  EXPECT_EQ(r.messages[2]["name"], "bot");
}

TEST(ChatMessages, BadMessagesNameTheMessage) {
  auto msgs = [](json m) { return chat({{"messages", m}}); };
  expect_param(chat_refusal(msgs(json::array())), "messages");
  expect_param(chat_refusal(msgs("hello")), "messages");
  expect_param(chat_refusal(chat({{"messages", nullptr}})), "messages");
  expect_param(chat_refusal(msgs(json::array({"hi"}))), "messages[0]");
  expect_param(chat_refusal(msgs(json::array({{{"content", "hi"}}}))), "messages[0].role");
  auto role = chat_refusal(msgs(json::array({{{"role", "user"}, {"content", "x"}}, {{"role", "wizard"}, {"content", "x"}}})));
  expect_param(role, "messages[1].role");
  EXPECT_NE(std::string(role.what()).find("wizard"), std::string::npos) << role.what();
  expect_param(chat_refusal(msgs(json::array({{{"role", 3}, {"content", "x"}}}))), "messages[0].role");
  expect_param(chat_refusal(msgs(json::array({{{"role", "user"}}}))), "messages[0].content");
  expect_param(chat_refusal(msgs(json::array({{{"role", "user"}, {"content", nullptr}}}))), "messages[0].content");
  expect_param(chat_refusal(msgs(json::array({{{"role", "user"}, {"content", 5}}}))), "messages[0].content");
  expect_param(chat_refusal(msgs(json::array({{{"role", "user"}, {"content", json::array({"x"})}}}))),
               "messages[0].content[0]");
  auto img = chat_refusal(msgs(json::array(
      {{{"role", "user"}, {"content", json::array({{{"type", "image_url"}, {"image_url", {{"url", "x"}}}}})}}})));
  expect_param(img, "messages[0].content[0].type");
  EXPECT_NE(std::string(img.what()).find("not supported yet"), std::string::npos);
  expect_param(chat_refusal(msgs(json::array({{{"role", "user"}, {"content", json::array({{{"type", "video"}}})}}}))),
               "messages[0].content[0].type");
  expect_param(chat_refusal(msgs(json::array({{{"role", "user"}, {"content", json::array({{{"type", "text"}}})}}}))),
               "messages[0].content[0].text");
  expect_param(chat_refusal(msgs(json::array({{{"role", "user"}, {"content", "x"}, {"mood", "happy"}}}))),
               "messages[0].mood");
}

TEST(ChatMessages, ToolResultsMustAnswerAnEarlierCall) {
  json call = {{"id", "call_1"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{\"x\":1}"}}}};
  json good = json::array({{{"role", "user"}, {"content", "q"}},
                           {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({call})}},
                           {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "42"}}});
  auto r = parse_chat_completion_request(chat({{"messages", good}}), kModel);
  // The arguments text is parsed into an object for the template.
  EXPECT_EQ(r.messages[1]["tool_calls"][0]["function"]["arguments"]["x"], 1);
  EXPECT_EQ(r.messages[1]["content"], "");

  json orphan = json::array({{{"role", "user"}, {"content", "q"}}, {{"role", "tool"}, {"tool_call_id", "nope"}, {"content", "42"}}});
  expect_param(chat_refusal(chat({{"messages", orphan}})), "messages[1].tool_call_id");
  json no_id = json::array({{{"role", "tool"}, {"content", "42"}}});
  expect_param(chat_refusal(chat({{"messages", no_id}})), "messages[0].tool_call_id");

  json object_args = good;
  object_args[1]["tool_calls"][0]["function"]["arguments"] = {{"x", 2}};
  EXPECT_EQ(parse_chat_completion_request(chat({{"messages", object_args}}), kModel)
                .messages[1]["tool_calls"][0]["function"]["arguments"]["x"],
            2);
  json bad_args = good;
  bad_args[1]["tool_calls"][0]["function"]["arguments"] = "{not json";
  expect_param(chat_refusal(chat({{"messages", bad_args}})), "messages[1].tool_calls[0].function.arguments");
  bad_args[1]["tool_calls"][0]["function"]["arguments"] = 5;
  expect_param(chat_refusal(chat({{"messages", bad_args}})), "messages[1].tool_calls[0].function.arguments");
}

TEST(CompletionRequest, PromptForms) {
  EXPECT_EQ(*parse_completion_request(completion(), kModel).prompt_text, "Once upon a time");
  EXPECT_EQ(*parse_completion_request(completion({{"prompt", {"one"}}}), kModel).prompt_text, "one");
  auto t = parse_completion_request(completion({{"prompt", {1, 2, 3}}}), kModel);
  EXPECT_FALSE(t.prompt_text);
  EXPECT_EQ(t.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(parse_completion_request(completion({{"prompt", json::array({{4, 5}})}}), kModel).prompt_tokens,
            (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(parse_completion_request(completion({{"logprobs", 2}}), kModel).gen.top_logprobs, 2);
}

TEST(CompletionRequest, BadPromptsAreRefused) {
  expect_param(completion_refusal(completion({{"prompt", nullptr}})), "prompt");
  expect_param(completion_refusal(completion({{"prompt", 5}})), "prompt");
  expect_param(completion_refusal(completion({{"prompt", json::array()}})), "prompt");
  expect_param(completion_refusal(completion({{"prompt", {1, 512}}})), "prompt[1]");
  expect_param(completion_refusal(completion({{"prompt", {1, -2}}})), "prompt[1]");
  expect_param(completion_refusal(completion({{"prompt", {1, 2.5}}})), "prompt[1]");
  expect_param(completion_refusal(completion({{"prompt", {"a", "b"}}})), "prompt");
  expect_param(completion_refusal(completion({{"prompt", json::array({json::object()})}})), "prompt");
  expect_param(completion_refusal(completion({{"echo", true}})), "echo");
  expect_param(completion_refusal(completion({{"best_of", 3}})), "best_of");
  expect_param(completion_refusal(completion({{"suffix", "x"}})), "suffix");
  expect_param(completion_refusal(completion({{"logprobs", true}})), "logprobs");
  expect_param(completion_refusal(completion({{"messages", json::array()}})), "messages");
}

TEST(EmbeddingRequest, InputForms) {
  auto r = parse_embedding_request({{"input", "hello"}}, kModel);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_FALSE(r.base64);
  auto b = parse_embedding_request({{"input", {"a", "b"}}, {"encoding_format", "base64"}}, kModel);
  EXPECT_EQ(b.inputs.size(), 2u);
  EXPECT_TRUE(b.base64);
  EXPECT_EQ(parse_embedding_request({{"input", {1, 2}}}, kModel).inputs[0].tokens, (std::vector<int32_t>{1, 2}));
  auto bad = [](json body, const std::string& param) {
    expect_param(refusal(parse_embedding_request, body), param);
  };
  bad({{"input", ""}}, "input");
  bad({{"input", json::array()}}, "input");
  bad({{"input", 5}}, "input");
  bad({{"input", {"a", 5}}}, "input[1]");
  bad({{"input", "a"}, {"encoding_format", "hex"}}, "encoding_format");
  bad({{"input", "a"}, {"dimensions", 8}}, "dimensions");
  expect_param(refusal(parse_embedding_request, {{"model", "other"}, {"input", "a"}}), "model", 404);
}

TEST(TokenizeRequests, Validate) {
  auto t = parse_tokenize_request({{"content", "hi"}, {"add_special", true}, {"with_pieces", true}});
  EXPECT_TRUE(t.add_special);
  EXPECT_TRUE(t.with_pieces);
  EXPECT_TRUE(t.parse_special);
  EXPECT_THROW(parse_tokenize_request({{"content", 5}}), ApiError);
  EXPECT_THROW(parse_tokenize_request(json::object()), ApiError);
  EXPECT_THROW(parse_tokenize_request({{"content", "x"}, {"add_special", "yes"}}), ApiError);
  EXPECT_EQ(parse_detokenize_request({{"tokens", {1, 2}}}, kModel).tokens, (std::vector<int32_t>{1, 2}));
  expect_param(refusal(parse_detokenize_request, {{"tokens", {1, 9999}}}), "tokens[1]");
  expect_param(refusal(parse_detokenize_request, {{"tokens", "1 2"}}), "tokens");
  EXPECT_THROW(parse_apply_template_request({{"messages", json::array()}}), ApiError);
  EXPECT_EQ(parse_apply_template_request({{"messages", json::array({{{"role", "user"}, {"content", "x"}}})}}).size(), 1u);
}
