// The wire shapes OpenAI clients parse: SSE framing, chunk and completion
// objects, usage, logprobs, base64 embeddings, Prometheus text.
#include <gtest/gtest.h>

#include <cstring>

#include "server/metrics.h"
#include "server/openai_responses.h"

using nlohmann::json;
using namespace ridge::server;

TEST(Sse, EachEventIsOneDataLineAndABlankLine) {
  const std::string e = sse_data({{"text", "line one\nline two\r\n\n"}});
  ASSERT_EQ(e.rfind("data: ", 0), 0u);
  ASSERT_EQ(e.substr(e.size() - 2), "\n\n");
  // The payload's own newlines are escaped: the event has exactly one line.
  EXPECT_EQ(e.find('\n'), e.size() - 2);
  EXPECT_EQ(json::parse(e.substr(6))["text"], "line one\nline two\r\n\n");
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
}

TEST(Sse, HalfACharacterNeverBreaksTheStream) {
  // A token piece may be an incomplete UTF-8 sequence; serialising must not throw.
  const std::string e = sse_data({{"token", std::string("\xe2\x82")}});
  EXPECT_NO_THROW(json::parse(e.substr(6)));
}

TEST(ChatChunks, HaveOpenAIsShape) {
  ResponseMeta meta{"chatcmpl-1", 1700000000, "tiny"};
  auto c = chat_chunk(meta, 2, {{"content", "Hi"}}, std::nullopt, nullptr, true);
  EXPECT_EQ(c["id"], "chatcmpl-1");
  EXPECT_EQ(c["object"], "chat.completion.chunk");
  EXPECT_EQ(c["created"], 1700000000);
  EXPECT_EQ(c["model"], "tiny");
  ASSERT_EQ(c["choices"].size(), 1u);
  EXPECT_EQ(c["choices"][0]["index"], 2);
  EXPECT_EQ(c["choices"][0]["delta"]["content"], "Hi");
  EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(c.contains("usage") && c["usage"].is_null());  // include_usage: null until the last chunk
  auto last = chat_chunk(meta, 0, json::object(), std::string("length"), nullptr, false);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(last.contains("usage"));
  auto u = chat_usage_chunk(meta, {10, 4, 8});
  EXPECT_TRUE(u["choices"].empty());
  EXPECT_EQ(u["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(u["usage"]["completion_tokens"], 4);
  EXPECT_EQ(u["usage"]["total_tokens"], 14);
  EXPECT_EQ(u["usage"]["prompt_tokens_details"]["cached_tokens"], 8);
}

TEST(CompletionObjects, HaveOpenAIsShape) {
  ResponseMeta meta{"cmpl-1", 1, "tiny"};
  auto c = completion_chunk(meta, 0, " time", std::nullopt, nullptr, false);
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"][0]["text"], " time");
  auto full = text_completion_json(meta, {{"a", "stop", nullptr}, {"b", "length", nullptr}}, {3, 2, 0});
  EXPECT_EQ(full["object"], "text_completion");
  ASSERT_EQ(full["choices"].size(), 2u);
  EXPECT_EQ(full["choices"][1]["index"], 1);
  EXPECT_EQ(full["choices"][1]["text"], "b");
  EXPECT_EQ(full["choices"][1]["finish_reason"], "length");
  EXPECT_EQ(full["usage"]["total_tokens"], 5);
  auto chat = chat_completion_json(meta, {{"hello", "stop", nullptr}}, {3, 1, 0});
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(chat["choices"][0]["message"]["content"], "hello");
  EXPECT_EQ(chat["choices"][0]["finish_reason"], "stop");
}

TEST(Logprobs, ChatAndCompletionForms) {
  auto piece = [](int32_t id) { return std::string(1, static_cast<char>('a' + id)); };
  std::vector<ScoredToken> toks = {{0, -0.5f, {{0, -0.5f}, {1, -1.5f}}}, {2, -0.1f, {}}};
  auto chat = chat_logprobs_json(toks, piece);
  ASSERT_EQ(chat["content"].size(), 2u);
  EXPECT_EQ(chat["content"][0]["token"], "a");
  EXPECT_FLOAT_EQ(chat["content"][0]["logprob"].get<float>(), -0.5f);
  EXPECT_EQ(chat["content"][0]["bytes"], json::array({97}));
  EXPECT_EQ(chat["content"][0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(chat["content"][0]["top_logprobs"][1]["token"], "b");
  auto comp = completion_logprobs_json(toks, piece, 5);
  EXPECT_EQ(comp["tokens"], json::array({"a", "c"}));
  EXPECT_EQ(comp["text_offset"], json::array({5, 6}));
  EXPECT_EQ(comp["top_logprobs"][0].size(), 2u);
  EXPECT_EQ(comp["token_logprobs"].size(), 2u);
}

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode("", 0), "");
  EXPECT_EQ(base64_encode("f", 1), "Zg==");
  EXPECT_EQ(base64_encode("fo", 2), "Zm8=");
  EXPECT_EQ(base64_encode("foo", 3), "Zm9v");
  EXPECT_EQ(base64_encode("foobar", 6), "Zm9vYmFy");
  const float one = 1.0f;  // 00 00 80 3f little-endian
  EXPECT_EQ(base64_encode(&one, 4), "AACAPw==");
}

TEST(ResponseIds, AreUniqueWithPrefix) {
  auto a = new_response_id("chatcmpl-"), b = new_response_id("chatcmpl-");
  EXPECT_EQ(a.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(a.size(), 9u + 24u);
  EXPECT_NE(a, b);
}

TEST(Metrics, PrometheusTextWithCountersGaugesAndHistograms) {
  ServerMetrics m;
  m.count_request("/v1/chat/completions", 200);
  m.count_request("/v1/chat/completions", 200);
  m.count_request("/v1/chat/completions?x=1", 400);
  m.count_request("/wp-admin/../../etc", 404);
  m.observe_time_to_first_token(0.03);
  m.observe_time_to_first_token(7);
  m.observe_inter_token_latency(0.004);
  EngineGauges g;
  g.running = 2;
  g.queued = 3;
  g.kv_blocks_used = 10;
  g.kv_blocks_total = 100;
  const std::string t = m.render(g);
  EXPECT_NE(t.find("ridge_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("ridge_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_http_requests_total{endpoint=\"other\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_requests_running 2\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_requests_queued 3\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_kv_blocks_used 10\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_kv_blocks_total 100\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE ridge_time_to_first_token_seconds histogram\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_time_to_first_token_seconds_bucket{le=\"0.05\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("ridge_time_to_first_token_seconds_bucket{le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_time_to_first_token_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_time_to_first_token_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(t.find("ridge_inter_token_latency_seconds_count 1\n"), std::string::npos);
  // Every line is a comment or "name{labels} value".
  size_t pos = 0;
  while (pos < t.size()) {
    const size_t eol = t.find('\n', pos);
    ASSERT_NE(eol, std::string::npos);
    const std::string line = t.substr(pos, eol - pos);
    if (line[0] != '#') EXPECT_NE(line.rfind(' '), std::string::npos) << line;
    pos = eol + 1;
  }
}
