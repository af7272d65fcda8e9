// Request bodies that are not acceptable JSON get a 400 (415 for a wrong
// Content-Type) in OpenAI's error shape, never a crash (BAD-INPUTS "HTTP API" 1).
#include <gtest/gtest.h>

#include <string>

#include "server/api_error.h"
#include "server/json_body.h"

using ridge::server::ApiError;
using ridge::server::parse_json_body;

namespace {

ApiError refusal(std::string_view content_type, std::string_view body) {
  try {
    parse_json_body(content_type, body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "");
}

}  // namespace

TEST(JsonBody, AcceptsAnObjectWithOrWithoutContentType) {
  EXPECT_EQ(parse_json_body("application/json", R"({"a":1})")["a"], 1);
  EXPECT_EQ(parse_json_body("Application/JSON; charset=utf-8", R"({"a":1})")["a"], 1);
  EXPECT_EQ(parse_json_body("", R"({"a":[1,{"b":2}]})")["a"][1]["b"], 2);
}

TEST(JsonBody, RefusesWhatIsNotAJsonObject) {
  for (std::string_view bad : {"", "   ", "not json", "{\"a\":", "{'a':1}", "[1,2]", "\"text\"", "42", "{\"a\":1} x",
                               "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":1,}"}) {
    auto e = refusal("application/json", bad);
    EXPECT_EQ(e.status(), 400) << bad;
    EXPECT_EQ(e.body()["error"]["type"], "invalid_request_error");
    EXPECT_EQ(e.body()["error"]["code"], "invalid_json") << bad;
  }
}

TEST(JsonBody, RefusesAWrongContentType) {
  auto e = refusal("application/x-www-form-urlencoded", R"({"a":1})");
  EXPECT_EQ(e.status(), 415);
  EXPECT_NE(std::string(e.what()).find("application/json"), std::string::npos);
  EXPECT_EQ(refusal("text/plain", "{}").status(), 415);
}

TEST(JsonBody, RefusesInvalidUtf8) {
  EXPECT_EQ(refusal("", "{\"a\":\"\xff\xfe\"}").status(), 400);
  EXPECT_EQ(refusal("", "{\"a\":\"\xc3\"}").status(), 400);  // truncated two-byte sequence
  EXPECT_EQ(refusal("", "{\"a\":\"\xed\xa0\x80\"}").status(), 400);  // UTF-16 surrogate as UTF-8
  EXPECT_EQ(parse_json_body("", "{\"a\":\"caf\xc3\xa9 \\u00e9\"}")["a"], "caf\xc3\xa9 \xc3\xa9");
}

TEST(JsonBody, BoundsNesting) {
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto e = refusal("", deep);
  EXPECT_EQ(e.status(), 400);
  EXPECT_NE(std::string(e.what()).find("nests deeper"), std::string::npos) << e.what();
  std::string ok = "{\"a\":" + std::string(30, '[') + std::string(30, ']') + "}";
  EXPECT_NO_THROW(parse_json_body("", ok));
}

TEST(JsonBody, RefusesDuplicateKeysAtAnyDepth) {
  auto e = refusal("", R"({"model":"a","model":"b"})");
  EXPECT_EQ(e.status(), 400);
  EXPECT_NE(std::string(e.what()).find("'model' twice"), std::string::npos) << e.what();
  EXPECT_EQ(refusal("", R"({"messages":[{"role":"user","role":"system"}]})").status(), 400);
  // The same key in sibling objects is fine.
  EXPECT_NO_THROW(parse_json_body("", R"({"m":[{"role":"user"},{"role":"system"}]})"));
}

TEST(ApiErrorShape, HasMessageTypeParamAndCode) {
  auto j = ridge::server::bad_field("temperature", "bad").body();
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "temperature");
  EXPECT_EQ(j["error"]["code"], "invalid_value");
  auto k = ridge::server::invalid_api_key();
  EXPECT_EQ(k.status(), 401);
  EXPECT_TRUE(k.body()["error"]["param"].is_null());
  auto m = ridge::server::model_not_found("gpt-9");
  EXPECT_EQ(m.status(), 404);
  EXPECT_EQ(m.body()["error"]["code"], "model_not_found");
  auto o = ridge::server::overloaded("busy");
  EXPECT_EQ(o.status(), 503);
  EXPECT_EQ(o.retry_after(), 1);
  EXPECT_EQ(o.body()["error"]["type"], "server_error");
}
