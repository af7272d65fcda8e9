// The HTTP layer against raw sockets, with handlers that need no model:
// keep-alive, pipelining, limits (413/431), the header deadline against a
// client trickling bytes, idle timeout, CORS preflight, chunked streaming,
// disconnect detection while a handler runs, overload 503 and shutdown.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "server/api_error.h"
#include "server/http_server.h"
#include "server/raw_http_client.h"

using namespace ridge::server;
using ridge::test::RawConnection;
using ridge::test::format_request;
using ridge::test::http_request;
using namespace std::chrono_literals;

namespace {

struct TestServer {
  std::atomic<bool> saw_gone{false};
  std::atomic<int> chunks_sent{0};
  std::atomic<bool> release{false};
  std::vector<std::pair<std::string, int>> observed;
  std::mutex mu;
  HttpServer server;

  explicit TestServer(HttpServerConfig cfg)
      : server(
            [&] {
              cfg.port = 0;
              return cfg;
            }(),
            [this](const HttpRequest& r, Exchange& ex) { handle(r, ex); },
            [this](const std::string& path, int status) {
              std::lock_guard lock(mu);
              observed.emplace_back(path, status);
            }) {
    server.start();
  }
  uint16_t port() const { return server.port(); }

  void handle(const HttpRequest& r, Exchange& ex) {
    if (r.path == "/echo") {
      HttpResponse resp;
      resp.content_type = "text/plain";
      resp.body = r.method + " " + r.target + " " + r.header("x-tag") + " " + r.body;
      return ex.reply(resp);
    }
    if (r.path == "/throw") throw bad_field("thing", "thing is wrong");
    if (r.path == "/stream") {
      ex.begin_stream(200, "text/event-stream", {});
      for (int i = 0; i < 3; ++i) ex.send("data: " + std::to_string(i) + "\n\n");
      return ex.end_stream();
    }
    if (r.path == "/endless") {  // streams until the client goes away
      ex.begin_stream(200, "text/event-stream", {});
      for (int i = 0; i < 1000; ++i) {
        if (!ex.send("data: tick\n\n")) break;
        ++chunks_sent;
        std::this_thread::sleep_for(10ms);
      }
      saw_gone = ex.client_gone();
      return ex.end_stream();
    }
    if (r.path == "/wait-for-gone") {  // computes silently; must notice the hang-up anyway
      for (int i = 0; i < 500 && !ex.client_gone(); ++i) std::this_thread::sleep_for(10ms);
      saw_gone = ex.client_gone();
      return ex.reply({});
    }
    if (r.path == "/block") {
      while (!release) std::this_thread::sleep_for(5ms);
      return ex.reply({200, "text/plain", "released", {}});
    }
    if (r.path == "/silent") return;  // produces nothing: the server answers 500
    ex.reply({404, "application/json", R"({"error":{"message":"no"}})", {}});
  }
};

HttpServerConfig small_limits() {
  HttpServerConfig c;
  c.io_threads = 2;
  c.worker_threads = 4;
  c.max_header_bytes = 2048;
  c.max_body_bytes = 4096;
  c.header_timeout = 1000ms;
  c.idle_timeout = 1500ms;
  return c;
}

}  // namespace

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(format_request("POST", "/echo?i=" + std::to_string(i), "body" + std::to_string(i), {{"X-Tag", "t"}})));
    auto r = c.read_response(5s);
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /echo?i=" + std::to_string(i) + " t body" + std::to_string(i));
    EXPECT_EQ(r->header("connection"), "keep-alive");
    EXPECT_EQ(r->header("access-control-allow-origin"), "*");
  }
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  ASSERT_TRUE(c.send(format_request("POST", "/echo", "one") + format_request("POST", "/echo", "two") +
                     format_request("GET", "/echo")));
  for (const char* want : {"POST /echo  one", "POST /echo  two", "GET /echo  "}) {
    auto r = c.read_response(5s);
    ASSERT_TRUE(r) << want;
    EXPECT_EQ(r->body, want);
  }
}

TEST(HttpServer, BodyOverTheLimitIs413AndTheServerKeepsServing) {
  TestServer s(small_limits());
  {
    RawConnection c(s.port());
    c.send(format_request("POST", "/echo", std::string(5000, 'x')));
    auto r = c.read_response(5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["code"], "request_too_large");
    EXPECT_TRUE(c.wait_closed(5s));
  }
  {  // Declared small, but chunked past the limit.
    RawConnection c(s.port());
    std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i) req += "400\r\n" + std::string(1024, 'y') + "\r\n";
    req += "0\r\n\r\n";
    c.send(req);
    auto r = c.read_response(5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_EQ(http_request(s.port(), "POST", "/echo", "ok").status, 200);
}

TEST(HttpServer, HugeHeadersAre431) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  c.send(format_request("GET", "/echo", "", {{"X-Big", std::string(4000, 'h')}}));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(http_request(s.port(), "GET", "/echo").status, 200);
}

TEST(HttpServer, MalformedRequestIs400) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(nlohmann::json::parse(r->body)["error"].contains("message"));
}

TEST(HttpServer, ClientTricklingHeadersIsCutOffAtTheDeadline) {
  TestServer s(small_limits());  // 1 s for the whole header
  RawConnection c(s.port());
  const std::string req = format_request("GET", "/echo", "", {{"X-Pad", std::string(200, 'p')}});
  const auto t0 = std::chrono::steady_clock::now();
  bool cut = false;
  for (char ch : req) {  // one byte every 20 ms: the headers would take over 5 s
    if (!c.send(std::string(1, ch))) {
      cut = true;
      break;
    }
    if (c.wait_closed(20ms)) {
      cut = true;
      break;
    }
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(cut) << "the server waited for the whole trickled request";
  EXPECT_LT(took, 3.0);
  EXPECT_GT(took, 0.8);
  EXPECT_EQ(http_request(s.port(), "GET", "/echo").status, 200);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  c.send(format_request("GET", "/echo"));
  ASSERT_TRUE(c.read_response(5s));
  EXPECT_TRUE(c.wait_closed(4s));
}

TEST(HttpServer, CorsPreflightIsAnsweredWithoutTheHandler) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  c.send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: http://example.com\r\n"
         "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n\r\n");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "*");
  EXPECT_NE(r->header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_EQ(r->header("access-control-allow-headers"), "authorization, content-type");
  EXPECT_TRUE(r->body.empty());
}

TEST(HttpServer, StreamsChunkedAndKeepsTheConnection) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  for (int round = 0; round < 2; ++round) {
    c.send(format_request("GET", "/stream"));
    auto r = c.read_response(5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("transfer-encoding"), "chunked");
    EXPECT_EQ(r->header("content-type"), "text/event-stream");
    EXPECT_EQ(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  }
}

TEST(HttpServer, Http10StreamIsCloseDelimited) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  c.send("GET /stream HTTP/1.0\r\n\r\n");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST(HttpServer, StreamingHandlerSeesTheClientLeave) {
  TestServer s(small_limits());
  {
    RawConnection c(s.port());
    c.send(format_request("GET", "/endless"));
    ASSERT_TRUE(c.read_until("data: tick\n\n", 5s));
    c.reset();
  }
  ASSERT_TRUE(s.server.wait_handlers(5s)) << "the handler kept streaming to nobody";
  EXPECT_TRUE(s.saw_gone);
  EXPECT_LT(s.chunks_sent, 300);
}

TEST(HttpServer, SilentHandlerSeesTheClientLeave) {
  TestServer s(small_limits());
  {
    RawConnection c(s.port());
    c.send(format_request("GET", "/wait-for-gone"));
    std::this_thread::sleep_for(100ms);
  }  // closes
  ASSERT_TRUE(s.server.wait_handlers(5s));
  EXPECT_TRUE(s.saw_gone);
}

TEST(HttpServer, HandlerErrorsBecomeJsonResponses) {
  TestServer s(small_limits());
  auto r = http_request(s.port(), "GET", "/throw");
  EXPECT_EQ(r.status, 400);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["param"], "thing");
  EXPECT_EQ(http_request(s.port(), "GET", "/silent").status, 500);
}

TEST(HttpServer, MoreRequestsThanWorkersGet503WithRetryAfter) {
  auto cfg = small_limits();
  cfg.worker_threads = 1;
  TestServer s(cfg);
  RawConnection blocked(s.port());
  blocked.send(format_request("GET", "/block"));
  for (int i = 0; i < 100 && s.server.handlers_running() == 0; ++i) std::this_thread::sleep_for(10ms);
  auto r = http_request(s.port(), "GET", "/echo");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  s.release = true;
  auto b = blocked.read_response(5s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body, "released");
}

TEST(HttpServer, Expect100ContinueGetsTheInterimResponse) {
  TestServer s(small_limits());
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_response(5s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send("hello");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "POST /echo  hello");
}

TEST(HttpServer, ObserverSeesEveryAnsweredRequest) {
  TestServer s(small_limits());
  http_request(s.port(), "GET", "/echo");
  http_request(s.port(), "GET", "/nothing-here");
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(s.mu);
      if (s.observed.size() >= 2) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::lock_guard lock(s.mu);
  ASSERT_EQ(s.observed.size(), 2u);
  // The observer runs after each response is written, on whichever thread
  // finished it, so two connections' calls may arrive in either order.
  auto seen = s.observed;
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen[0], (std::pair<std::string, int>{"/echo", 200}));
  EXPECT_EQ(seen[1], (std::pair<std::string, int>{"/nothing-here", 404}));
}

TEST(HttpServer, StopAcceptingFinishesInFlightAndRefusesNewConnections) {
  auto cfg = small_limits();
  TestServer s(cfg);
  RawConnection inflight(s.port());
  inflight.send(format_request("GET", "/block"));
  for (int i = 0; i < 100 && s.server.handlers_running() == 0; ++i) std::this_thread::sleep_for(10ms);
  s.server.stop_accepting();
  std::this_thread::sleep_for(100ms);
  EXPECT_THROW(RawConnection late(s.port()), std::runtime_error);
  s.release = true;
  auto r = inflight.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "released");
  EXPECT_EQ(r->header("connection"), "close");
  s.server.shutdown(2000ms);
}
