#pragma once
// The HTTP server's view of one request and its reply channel, independent of
// Beast, so the API handlers can be driven by tests without a socket.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ridge::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent, with any query
  std::string path;    // target without the query
  HeaderList headers;  // names in lower case
  std::string body;
  std::string remote;  // peer address, for logs

  // The first header named `lower_name`, or "" when absent.
  std::string header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return v;
    return {};
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;  // extra headers (Retry-After, WWW-Authenticate, ...)
};

// One request's reply, used from the worker thread that runs its handler.
// Either reply() once, or begin_stream(), send()* and end_stream(). Calls
// return at once (the bytes are written asynchronously) except send(), which
// waits while too much is buffered for a slow reader.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void reply(HttpResponse response) = 0;
  virtual void begin_stream(int status, const std::string& content_type, const HeaderList& headers) = 0;
  // False once the client has gone (disconnected, or stopped reading past the
  // write timeout): the handler should cancel its work.
  virtual bool send(std::string data) = 0;
  virtual void end_stream() = 0;
  // The client closed its connection (seen by a failed write or by a read
  // that returned end-of-stream while the handler ran).
  virtual bool client_gone() const = 0;
};

}  // namespace ridge::server
