// `ridge serve` end to end over raw HTTP: the real binary on a real model
// (stories260K, else a random one). Good requests in each form, every class of
// malformed input from BAD-INPUTS "HTTP API" that reaches the wire (4xx JSON
// or a clean cut-off, and the server keeps serving), auth, CORS, a client that
// vanishes mid-stream, and at the end no KV blocks held beyond the prefix cache.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "common/process.h"
#include "e2e/serve_harness.h"
#include "server/raw_http_client.h"

using nlohmann::json;
using namespace ridge::test;
using namespace std::chrono_literals;

namespace {

const std::string kKey = "sk-test-Key_123";

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServeProcess({"-m", serve_test_model().string(), "-c", "256", "--parallel", "4", "-t", "2",
                                "--api-key", kKey, "--max-body", "65536", "--timeout-header", "2", "--alias",
                                "tiny"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static uint16_t port() { return server_->port(); }

  static RawResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + kKey}}) {
    return http_request(port(), method, path, body, headers);
  }
  static RawResponse post(const std::string& path, const json& body) { return call("POST", path, body.dump()); }

  static json chat_body(json extra = json::object()) {
    json j = {{"model", "tiny"},
              {"messages", json::array({{{"role", "user"}, {"content", "Once upon a time"}}})},
              {"max_tokens", 12},
              {"temperature", 0}};
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
    return j;
  }

  // A 4xx in OpenAI's shape; returns the error object.
  static json expect_error(const RawResponse& r, int status, const std::string& param = "") {
    EXPECT_EQ(r.status, status) << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << r.body;
    if (!j.is_object() || !j.contains("error")) return json::object();
    const json e = j["error"];
    EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty());
    EXPECT_TRUE(e["type"].is_string());
    EXPECT_TRUE(e.contains("param") && e.contains("code"));
    if (!param.empty()) {
      EXPECT_EQ(e["param"], param) << r.body;
    }
    return e;
  }

  static std::string stream_text(const RawResponse& r, bool chat, json* last_usage = nullptr) {
    std::string text;
    auto events = sse_payloads(r.body);
    EXPECT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
    for (const auto& e : events) {
      if (e == "[DONE]") continue;
      json c = json::parse(e);
      if (c.contains("usage") && c["usage"].is_object() && last_usage) *last_usage = c["usage"];
      for (const auto& ch : c["choices"]) {
        if (chat && ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
        if (!chat) text += ch["text"].get<std::string>();
      }
    }
    return text;
  }

  static std::map<std::string, double> metrics() {
    auto r = call("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    std::map<std::string, double> m;
    size_t pos = 0;
    while (pos < r.body.size()) {
      size_t eol = r.body.find('\n', pos);
      if (eol == std::string::npos) eol = r.body.size();
      std::string line = r.body.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.empty() || line[0] == '#') continue;
      const size_t sp = line.rfind(' ');
      m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
    }
    return m;
  }

  static ServeProcess* server_;
};

ServeProcess* Serve::server_ = nullptr;

}  // namespace

TEST_F(Serve, HealthAndPageArePublicEverythingElseNeedsTheKey) {
  auto h = call("GET", "/health", "", {});
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["status"], "ok");
  auto page = call("GET", "/", "", {});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("/v1/chat/completions"), std::string::npos);

  auto e = expect_error(call("GET", "/v1/models", "", {}), 401);
  EXPECT_EQ(e["code"], "invalid_api_key");
  expect_error(call("GET", "/v1/models", "", {{"Authorization", "Bearer wrong"}}), 401);
  expect_error(call("GET", "/v1/models", "", {{"Authorization", "Bearer " + kKey + "x"}}), 401);
  expect_error(call("GET", "/v1/models", "", {{"Authorization", kKey}}), 401);
  expect_error(call("GET", "/v1/models", "", {{"Authorization", "Basic " + kKey}}), 401);
  // The key itself is case-sensitive; the scheme is not.
  std::string lower_key = kKey;
  for (char& c : lower_key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  expect_error(call("GET", "/v1/models", "", {{"Authorization", "Bearer " + lower_key}}), 401);
  expect_error(call("POST", "/v1/chat/completions", chat_body().dump(), {}), 401);
  expect_error(call("GET", "/metrics", "", {}), 401);
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER  "}) {
    auto r = call("GET", "/v1/models", "", {{"Authorization", scheme + kKey}});
    EXPECT_EQ(r.status, 200) << scheme;
  }
  auto models = json::parse(call("GET", "/v1/models").body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  EXPECT_EQ(call("GET", "/v1/models/tiny").status, 200);
  expect_error(call("GET", "/v1/models/gpt-4"), 404);
}

TEST_F(Serve, CorsPreflightNeedsNoKey) {
  RawConnection c(port());
  c.send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\n"
         "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization,content-type\r\n\r\n");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "*");
  EXPECT_NE(r->header("access-control-allow-headers").find("authorization"), std::string::npos);
  auto answered = call("GET", "/v1/models");
  EXPECT_EQ(answered.header("access-control-allow-origin"), "*");
}

TEST_F(Serve, ChatCompletionAndItsStreamGiveTheSameGreedyText) {
  auto r = post("/v1/chat/completions", chat_body());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "tiny");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  const std::string text = j["choices"][0]["message"]["content"];
  EXPECT_FALSE(text.empty());
  const std::string finish = j["choices"][0]["finish_reason"];
  EXPECT_TRUE(finish == "length" || finish == "stop") << finish;
  const auto& u = j["usage"];
  EXPECT_GT(u["prompt_tokens"].get<int>(), 3);
  EXPECT_LE(u["completion_tokens"].get<int>(), 12);
  EXPECT_EQ(u["total_tokens"], u["prompt_tokens"].get<int>() + u["completion_tokens"].get<int>());
  EXPECT_TRUE(u["prompt_tokens_details"]["cached_tokens"].is_number());

  auto s = post("/v1/chat/completions", chat_body({{"stream", true}, {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_NE(s.header("content-type").find("text/event-stream"), std::string::npos);
  json usage;
  EXPECT_EQ(stream_text(s, true, &usage), text);
  EXPECT_EQ(usage["completion_tokens"], u["completion_tokens"]);
  EXPECT_EQ(usage["prompt_tokens"], u["prompt_tokens"]);
  auto events = sse_payloads(s.body);
  EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["role"], "assistant");
}

TEST_F(Serve, RepeatedSystemPromptIsServedFromThePrefixCache) {
  std::string system;
  for (int i = 0; i < 8; ++i) system += "The little owl sang a song in the old green tree. ";
  auto ask = [&](const std::string& user) {
    json body = {{"messages", json::array({{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}})},
                 {"max_tokens", 4},
                 {"temperature", 0}};
    auto r = post("/v1/chat/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["usage"];
  };
  const json first = ask("Tell me about the owl.");
  const json second = ask("Tell me about the tree.");
  const int prompt = second["prompt_tokens"].get<int>();
  ASSERT_GT(prompt, 64) << "the shared system prompt should span several KV blocks";
  EXPECT_EQ(first["prompt_tokens_details"]["cached_tokens"].get<int>(), 0);
  // Every full block of the shared prefix comes from the cache (blocks are 16 tokens).
  EXPECT_GE(second["prompt_tokens_details"]["cached_tokens"].get<int>(), 48) << second.dump();
  EXPECT_LT(second["prompt_tokens_details"]["cached_tokens"].get<int>(), prompt);
}

TEST_F(Serve, CompletionsFromTextOrTokenIdsWithLogprobs) {
  json body = {{"model", "tiny"}, {"prompt", "Once upon a time"}, {"max_tokens", 6}, {"temperature", 0},
               {"logprobs", 2}};
  auto r = post("/v1/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "text_completion");
  const std::string text = j["choices"][0]["text"];
  const auto& lp = j["choices"][0]["logprobs"];
  ASSERT_TRUE(lp.is_object()) << r.body;
  EXPECT_EQ(lp["tokens"].size(), j["usage"]["completion_tokens"].get<size_t>());
  for (const auto& x : lp["token_logprobs"]) EXPECT_LE(x.get<double>(), 0.0);
  EXPECT_LE(lp["top_logprobs"][0].size(), 2u);

  // The same prompt as token ids gives the same continuation.
  auto t = post("/tokenize", {{"content", "Once upon a time"}, {"add_special", true}});
  ASSERT_EQ(t.status, 200);
  json ids = json::parse(t.body)["tokens"];
  body["prompt"] = ids;
  auto r2 = post("/v1/completions", body);
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(json::parse(r2.body)["choices"][0]["text"], text);

  body.erase("logprobs");
  body["stream"] = true;
  auto s = post("/v1/completions", body);
  EXPECT_EQ(stream_text(s, false), text);
}

TEST_F(Serve, SeedReproducesAndNGivesSeparateChoices) {
  auto body = chat_body({{"temperature", 1.0}, {"seed", 1234}, {"n", 3}, {"max_tokens", 16}});
  auto a = json::parse(post("/v1/chat/completions", body).body);
  auto b = json::parse(post("/v1/chat/completions", body).body);
  ASSERT_EQ(a["choices"].size(), 3u) << a.dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a["choices"][i]["index"], i);
    EXPECT_EQ(a["choices"][i]["message"]["content"], b["choices"][i]["message"]["content"]);
  }
  EXPECT_FALSE(a["choices"][0]["message"]["content"] == a["choices"][1]["message"]["content"] &&
               a["choices"][1]["message"]["content"] == a["choices"][2]["message"]["content"])
      << "three sampled choices were identical";
  // n > 1 streams too, each chunk tagged with its choice.
  auto s = post("/v1/chat/completions", chat_body({{"n", 2}, {"stream", true}}));
  std::set<int> seen;
  for (const auto& e : sse_payloads(s.body)) {
    if (e == "[DONE]") continue;
    const json chunk = json::parse(e);
    for (const auto& ch : chunk["choices"]) seen.insert(ch["index"].get<int>());
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1})) << s.status << " " << s.body;
}

TEST_F(Serve, StopStringEndsTheTextBeforeIt) {
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}};
  const std::string full = json::parse(post("/v1/completions", body).body)["choices"][0]["text"];
  ASSERT_GT(full.size(), 12u) << full;
  const std::string stop = full.substr(8, 3);
  body["stop"] = json::array({stop, "zzzz-never"});
  json j = json::parse(post("/v1/completions", body).body);
  EXPECT_EQ(j["choices"][0]["text"], full.substr(0, full.find(stop)));
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
}

TEST_F(Serve, TokenizeDetokenizeApplyTemplateAndEmbeddings) {
  auto t = json::parse(post("/tokenize", {{"content", "Hello world"}, {"with_pieces", true}}).body);
  ASSERT_FALSE(t["tokens"].empty());
  json ids = json::array();
  for (const auto& p : t["tokens"]) {
    EXPECT_TRUE(p["piece"].is_string() || p["piece"].is_array());
    ids.push_back(p["id"]);
  }
  EXPECT_EQ(json::parse(post("/detokenize", {{"tokens", ids}}).body)["content"], "Hello world");
  expect_error(post("/detokenize", {{"tokens", {1, 1 << 30}}}), 400, "tokens[1]");

  auto a = post("/apply-template", {{"messages", {{{"role", "user"}, {"content", "What is {{ 1 + 1 }}?"}}}}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_NE(json::parse(a.body)["prompt"].get<std::string>().find("What is {{ 1 + 1 }}?"), std::string::npos)
      << "message text that looks like Jinja must stay text";

  auto e = post("/v1/embeddings", {{"model", "tiny"}, {"input", {"one", "two"}}});
  ASSERT_EQ(e.status, 200) << e.body;
  json ej = json::parse(e.body);
  ASSERT_EQ(ej["data"].size(), 2u);
  double norm = 0;
  for (const auto& x : ej["data"][0]["embedding"]) norm += x.get<double>() * x.get<double>();
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-3);
  EXPECT_GT(ej["usage"]["prompt_tokens"].get<int>(), 0);
  auto b64 = json::parse(post("/v1/embeddings", {{"input", "one"}, {"encoding_format", "base64"}}).body);
  EXPECT_EQ(b64["data"][0]["embedding"].get<std::string>().size() % 4, 0u);
}

TEST_F(Serve, MalformedRequestsGetJsonErrorsNamingTheField) {
  // Not JSON, empty, wrong content type, invalid UTF-8, deep nesting, duplicate keys.
  expect_error(call("POST", "/v1/chat/completions", "{not json", {{"Authorization", "Bearer " + kKey}}), 400);
  expect_error(call("POST", "/v1/chat/completions", "", {{"Authorization", "Bearer " + kKey}}), 400);
  {
    RawConnection c(port());
    c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kKey +
           "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}");
    auto r = c.read_response(5s);
    ASSERT_TRUE(r);
    expect_error(*r, 415);
  }
  expect_error(call("POST", "/v1/chat/completions",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", {{"Authorization", "Bearer " + kKey}}),
               400);
  expect_error(call("POST", "/v1/chat/completions", "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}",
                    {{"Authorization", "Bearer " + kKey}}),
               400);
  expect_error(call("POST", "/v1/chat/completions", R"({"max_tokens":1,"max_tokens":2})",
                    {{"Authorization", "Bearer " + kKey}}),
               400);
  // Wrong types and extremes.
  expect_error(post("/v1/chat/completions", chat_body({{"temperature", "hot"}})), 400, "temperature");
  expect_error(post("/v1/chat/completions", chat_body({{"max_tokens", "12"}})), 400, "max_tokens");
  expect_error(post("/v1/chat/completions", chat_body({{"max_tokens", -1}})), 400, "max_tokens");
  expect_error(post("/v1/chat/completions", chat_body({{"max_tokens", 1e15}})), 400, "max_tokens");
  expect_error(post("/v1/chat/completions", chat_body({{"max_tokens", 99999999}})), 400, "max_tokens");
  expect_error(post("/v1/chat/completions", chat_body({{"n", 100000}})), 400, "n");
  expect_error(post("/v1/chat/completions", chat_body({{"top_p", 1.5}})), 400, "top_p");
  expect_error(post("/v1/chat/completions", chat_body({{"top_k", -3}})), 400, "top_k");
  expect_error(post("/v1/chat/completions", chat_body({{"logprobs", true}, {"top_logprobs", 1000}})), 400, "top_logprobs");
  expect_error(post("/v1/chat/completions", chat_body({{"logit_bias", {{"100000000", 5}}}})), 400, "logit_bias");
  // Messages.
  expect_error(post("/v1/chat/completions", chat_body({{"messages", json::array()}})), 400, "messages");
  expect_error(post("/v1/chat/completions", chat_body({{"messages", {{{"content", "x"}}}}})), 400, "messages[0].role");
  auto role = expect_error(post("/v1/chat/completions", chat_body({{"messages", {{{"role", "overlord"}, {"content", "x"}}}}})),
                           400, "messages[0].role");
  EXPECT_NE(role["message"].get<std::string>().find("overlord"), std::string::npos);
  expect_error(post("/v1/chat/completions", chat_body({{"messages", {{{"role", "user"}, {"content", nullptr}}}}})), 400,
               "messages[0].content");
  // Unsupported and unknown fields, unknown model, unknown path.
  auto tools = expect_error(post("/v1/chat/completions", chat_body({{"tools", {{{"type", "function"}}}}})), 400, "tools");
  EXPECT_NE(tools["message"].get<std::string>().find("not supported yet"), std::string::npos);
  expect_error(post("/v1/chat/completions", chat_body({{"response_format", {{"type", "json_object"}}}})), 400,
               "response_format");
  expect_error(post("/v1/chat/completions", chat_body({{"frobnicate", true}})), 400, "frobnicate");
  auto nf = expect_error(post("/v1/chat/completions", chat_body({{"model", "gpt-4o"}})), 404);
  EXPECT_EQ(nf["code"], "model_not_found");
  expect_error(call("GET", "/v1/nothing"), 404);
  expect_error(call("GET", "/v1/chat/completions"), 405);
  // Prompts: empty token list, bad ids, longer than the context.
  expect_error(post("/v1/completions", {{"prompt", json::array()}}), 400, "prompt");
  expect_error(post("/v1/completions", {{"prompt", {1, -5}}}), 400, "prompt[1]");
  std::string long_prompt;
  for (int i = 0; i < 200; ++i) long_prompt += "Once upon a time ";
  auto ctx = expect_error(post("/v1/completions", {{"prompt", long_prompt}}), 400, "prompt");
  EXPECT_NE(ctx["message"].get<std::string>().find("context"), std::string::npos) << ctx.dump();
  EXPECT_EQ(ctx["code"], "context_length_exceeded");
  auto chat_ctx = expect_error(
      post("/v1/chat/completions", chat_body({{"messages", {{{"role", "user"}, {"content", long_prompt}}}}})), 400,
      "messages");
  EXPECT_EQ(chat_ctx["code"], "context_length_exceeded");
  // Still serving.
  EXPECT_EQ(post("/v1/chat/completions", chat_body()).status, 200);
}

TEST_F(Serve, PromptFillingTheContextExactlyIsRefusedOneLessIsServed) {
  std::vector<int> ids(256, 100);
  expect_error(post("/v1/completions", {{"prompt", ids}, {"max_tokens", 1}}), 400, "prompt");
  ids.resize(255);
  auto r = post("/v1/completions", {{"prompt", ids}, {"max_tokens", 4}, {"temperature", 0}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 1);
}

TEST_F(Serve, BodyOverTheLimitIs413) {
  std::string big = R"({"prompt":")" + std::string(70000, 'a') + R"("})";
  auto r = call("POST", "/v1/completions", big, {{"Authorization", "Bearer " + kKey}});
  expect_error(r, 413);
  EXPECT_EQ(call("GET", "/health", "", {}).status, 200);
}

TEST_F(Serve, ClientTricklingHeadersIsCutOff) {
  RawConnection c(port());
  const std::string req = format_request("GET", "/health", "", {{"X-Pad", std::string(400, 'p')}});
  const auto t0 = std::chrono::steady_clock::now();
  bool cut = false;
  for (char ch : req) {  // a byte every 50 ms would take 20+ s
    if (!c.send(std::string(1, ch)) || c.wait_closed(50ms)) {
      cut = true;
      break;
    }
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(cut);
  EXPECT_LT(took, 6.0);
  EXPECT_EQ(call("GET", "/health", "", {}).status, 200);
}

TEST_F(Serve, ClientLeavingMidStreamCancelsItsRequest) {
  // Ban end-of-text so the stream would run to the context's end if not cancelled.
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 240}, {"temperature", 0.8}, {"stream", true},
               {"logit_bias", {{"2", -100}}}};
  const double generated_before = metrics()["ridge_generated_tokens_total"];
  for (int round = 0; round < 3; ++round) {
    RawConnection c(port());
    c.send(format_request("POST", "/v1/completions", body.dump(), {{"Authorization", "Bearer " + kKey}}));
    ASSERT_TRUE(c.read_until("data: ", 10s)) << "no stream started";
    if (round == 0) c.reset();
    else c.close();
  }
  // The engine drops the sequences: nothing runs within a few steps.
  bool idle = false;
  for (int i = 0; i < 100 && !idle; ++i) {
    auto m = metrics();
    idle = m["ridge_requests_running"] == 0 && m["ridge_requests_queued"] == 0;
    if (!idle) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(idle) << "a request of a departed client is still running";
  const double generated = metrics()["ridge_generated_tokens_total"] - generated_before;
  std::printf("generated %g tokens for 3 departed clients\n", generated);
  EXPECT_LT(generated, 360) << "departed clients kept generating";
}

TEST_F(Serve, ZzzAtTheEndNoBlocksAreHeldBeyondThePrefixCache) {
  // Named to run last in this suite (gtest runs in declaration order anyway).
  bool settled = false;
  std::map<std::string, double> m;
  for (int i = 0; i < 100 && !settled; ++i) {
    m = metrics();
    settled = m["ridge_requests_running"] == 0 && m["ridge_kv_blocks_active"] == 0 &&
              m["ridge_kv_blocks_used"] == m["ridge_kv_prefix_cache_blocks"];
    if (!settled) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(settled) << "running " << m["ridge_requests_running"] << ", kv active " << m["ridge_kv_blocks_active"]
                       << ", kv used " << m["ridge_kv_blocks_used"]
                       << ", prefix cache " << m["ridge_kv_prefix_cache_blocks"];
  EXPECT_GT(m["ridge_kv_blocks_total"], 0);
  EXPECT_GT(m["ridge_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"], 0);
  EXPECT_GT(m["ridge_time_to_first_token_seconds_count"], 0);
  EXPECT_GT(m["ridge_inter_token_latency_seconds_count"], 0);
}

TEST(ServeShutdown, SigtermFinishesTheStreamInFlightAndExitsZero) {
  ServeProcess server({"-m", serve_test_model().string(), "-c", "256", "-t", "2", "--shutdown-grace", "10"});
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 60}, {"temperature", 0}, {"stream", true}};
  RawConnection c(server.port());
  c.send(format_request("POST", "/v1/completions", body.dump()));
  ASSERT_TRUE(c.read_until("data: ", 10s));
  std::thread stopper([&] { EXPECT_EQ(server.terminate(30s), 0) << server.stderr_text(); });
  auto rest = c.read_until("data: [DONE]\n\n", 30s);
  stopper.join();
  EXPECT_TRUE(rest.has_value()) << "the stream in flight was cut off by the shutdown";
  EXPECT_NE(server.stderr_text().find("ridge: stopped"), std::string::npos) << server.stderr_text();
  EXPECT_THROW(RawConnection late(server.port()), std::runtime_error);
}

// llama.cpp's -ctk/-ctv reach the engine: a server with an F32 KV cache
// answers with log-probabilities that differ (F16 rounding of K and V moves
// them slightly), and on stories260K (whose greedy text is the same with
// either cache, see RunCommand.GreedyContinuationMatchesReference) with the
// text of the default F16 server. Bad values are refused at start-up.
TEST(ServeStartup, CacheTypeFlagsReachTheEngine) {
  const json body = {{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}, {"logprobs", 1}};
  std::vector<std::string> texts;
  std::vector<json> logprobs;
  for (const char* type : {"f16", "f32"}) {
    ServeProcess server({"-m", serve_test_model().string(), "-c", "256", "-t", "2", "-ctk", type, "-ctv", type});
    auto r = http_request(server.port(), "POST", "/v1/completions", body.dump());
    ASSERT_EQ(r.status, 200) << type << ": " << r.body;
    const json j = json::parse(r.body);
    EXPECT_EQ(j["usage"]["completion_tokens"], 24) << type;
    texts.push_back(j["choices"][0]["text"].get<std::string>());
    logprobs.push_back(j["choices"][0]["logprobs"]["token_logprobs"]);
  }
  EXPECT_NE(logprobs[0], logprobs[1]) << "the cache type made no difference: did -ctk/-ctv reach the cache?";
  if (ridge::test::testdata_file("models/stories260K.gguf")) EXPECT_EQ(texts[0], texts[1]);
  auto bad = ridge::test::run_process({RIDGE_BINARY, "serve", "-m", serve_test_model().string(), "-ctk", "q4_0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("-ctk must be f16 or f32"), std::string::npos) << bad.err;
}

TEST(ServeStartup, BadArgumentsAndModelsFailCleanly) {
  auto dir = scratch_dir("serve-bad");
  {
    std::ofstream(dir / "garbage.gguf") << "this is not a gguf model file, just some text";
    std::ofstream(dir / "bad.jinja") << "{% if %}";
  }
  struct Case {
    std::vector<std::string> args;
    std::string mention;
  };
  for (const auto& c : std::vector<Case>{{{"serve"}, "-m"},
                                         {{"serve", "-m", (dir / "garbage.gguf").string()}, "magic"},
                                         {{"serve", "-m", "x.gguf", "--port", "70000"}, "--port"},
                                         {{"serve", "-m", serve_test_model().string(), "--chat-template-file",
                                           (dir / "bad.jinja").string()},
                                          "ridge serve: error"},
                                         {{"serve", "-m", serve_test_model().string(), "--chat-template-file",
                                           (dir / "missing.jinja").string()},
                                          "missing.jinja"},
                                         {{"serve", "--bogus"}, "--bogus"}}) {
    std::vector<std::string> argv = {RIDGE_BINARY};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = ridge::test::run_process(argv);
    EXPECT_EQ(r.exit_code, 1) << c.args.back() << ": " << r.err;
    EXPECT_FALSE(r.signaled);
    EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
  }
}

TEST(ServeChatTemplate, FileOverridesTheModelsAndRaiseExceptionIsA400WithItsText) {
  auto dir = scratch_dir("serve-template");
  {
    std::ofstream(dir / "strict.jinja")
        << "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with a user message') }}"
           "{% endif %}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
           "{% if add_generation_prompt %}<assistant>{% endif %}";
  }
  ServeProcess server({"-m", serve_test_model().string(), "-c", "256", "-t", "2", "--chat-template-file",
                       (dir / "strict.jinja").string()});
  auto ok = http_request(server.port(), "POST", "/apply-template",
                         json({{"messages", {{{"role", "user"}, {"content", "hi"}}}}}).dump());
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["prompt"], "<user>hi\n<assistant>");
  const json bad = {{"messages", {{{"role", "assistant"}, {"content", "hi"}}}}};
  for (const char* path : {"/v1/chat/completions", "/apply-template"}) {
    json body = bad;
    if (std::string(path) == "/v1/chat/completions") body["max_tokens"] = 2;
    auto r = http_request(server.port(), "POST", path, body.dump());
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["message"], "Conversations must start with a user message") << r.body;
  }
}
