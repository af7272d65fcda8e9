#pragma once
// An HTTP/1.1 server on Boost.Beast/Asio: a fixed number of I/O threads run
// every connection's reads and writes asynchronously; request handlers run on
// a separate worker pool because they may block on the engine. Keep-alive and
// pipelining; limits on header size (431), body size (413), a total deadline
// for reading the headers (a client trickling one byte a second is cut off),
// an idle timeout between requests and a write timeout for clients that stop
// reading. CORS preflights are answered here. While a handler runs, a read on
// the socket watches for the client going away, so long generations are
// cancelled when nobody is listening.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "server/http_types.h"

namespace ridge::server {

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see HttpServer::port())
  int io_threads = 2;
  int worker_threads = 96;  // handlers running at once; more get 503
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8u << 20;
  std::chrono::milliseconds header_timeout{10'000};  // from the first byte of a request to the end of its headers
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};   // one write to a client that does not read
  size_t max_buffered_stream_bytes = 1u << 20;       // send() waits beyond this
};

using RequestHandler = std::function<void(const HttpRequest&, Exchange&)>;
// Called once per answered request (for metrics and logs).
using ResponseObserver = std::function<void(const std::string& path, int status)>;

class HttpServer {
 public:
  HttpServer(HttpServerConfig cfg, RequestHandler handler, ResponseObserver observer = {});
  ~HttpServer();  // shutdown() if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads; throws std::runtime_error naming
  // the address when it cannot bind.
  void start();
  uint16_t port() const;  // the bound port (after start)

  // Stops accepting and closes idle keep-alive connections; requests in
  // flight continue, later requests on open connections get 503 + close.
  void stop_accepting();
  int handlers_running() const;
  // Waits until no handler runs or `timeout` passes; true when idle.
  bool wait_handlers(std::chrono::milliseconds timeout) const;
  // Stops everything and joins the threads (waits up to `grace` for
  // connections to finish writing).
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ridge::server
