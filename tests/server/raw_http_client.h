#pragma once
// A deliberately small blocking HTTP/1.1 client over a raw TCP socket for the
// server tests: it sends exactly the bytes a test writes (malformed requests,
// trickled headers, pipelined requests) and parses responses strictly
// (Content-Length, chunked, or close-delimited bodies).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class RawConnection {
 public:
  explicit RawConnection(uint16_t port, const char* host = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, host, &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("connect() to port " + std::to_string(port) + " failed");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes with a reset rather than a FIN (SO_LINGER 0): an abrupt disconnect.
  void reset() {
    if (fd_ < 0) return;
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

  // False when the peer has closed (EPIPE/ECONNRESET).
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads what is available within `timeout` into the pending buffer; false on EOF/error.
  bool fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;  // nothing yet
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Waits until the server closes the connection (true) or `timeout` passes (false).
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!eof_ && std::chrono::steady_clock::now() < end)
      if (!fill(std::chrono::milliseconds(50))) return true;
    return eof_;
  }

  // Reads until `needle` appears in the unread bytes (returns them up to and
  // including it, consumed) or the timeout/EOF (nullopt).
  std::optional<std::string> read_until(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const size_t at = pending_.find(needle);
      if (at != std::string::npos) {
        std::string out = pending_.substr(0, at + needle.size());
        pending_.erase(0, at + needle.size());
        return out;
      }
      if (eof_ || std::chrono::steady_clock::now() >= end) return std::nullopt;
      fill(std::chrono::milliseconds(20));
    }
  }

  // One whole response; nullopt when the connection closes first or time runs out.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    auto left = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    };
    auto head = read_until("\r\n\r\n", left());
    if (!head) return std::nullopt;
    RawResponse r;
    const size_t sp = head->find(' ');
    if (sp == std::string::npos) return std::nullopt;
    r.status = std::stoi(head->substr(sp + 1, 3));
    size_t pos = head->find("\r\n") + 2;
    while (pos < head->size()) {
      const size_t eol = head->find("\r\n", pos);
      if (eol == pos) break;
      std::string line = head->substr(pos, eol - pos);
      pos = eol + 2;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string k = line.substr(0, colon), v = line.substr(colon + 1);
      for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      r.headers[k] = v;
    }
    if (r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) return r;
    if (r.header("transfer-encoding") == "chunked") {
      for (;;) {
        auto size_line = read_until("\r\n", left());
        if (!size_line) return std::nullopt;
        const size_t n = std::stoul(*size_line, nullptr, 16);
        while (pending_.size() < n + 2) {
          if (eof_ || left().count() <= 0) return std::nullopt;
          fill(std::chrono::milliseconds(20));
        }
        r.body += pending_.substr(0, n);
        pending_.erase(0, n + 2);
        if (n == 0) return r;
      }
    }
    if (!r.header("content-length").empty()) {
      const size_t n = std::stoul(r.header("content-length"));
      while (pending_.size() < n) {
        if (eof_ || left().count() <= 0) return std::nullopt;
        fill(std::chrono::milliseconds(20));
      }
      r.body = pending_.substr(0, n);
      pending_.erase(0, n);
      return r;
    }
    while (!eof_ && left().count() > 0) fill(std::chrono::milliseconds(20));
    r.body = std::move(pending_);
    pending_.clear();
    return r;
  }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string pending_;
  bool eof_ = false;
};

// Formats a request with Content-Length (and Content-Type for a body).
inline std::string format_request(const std::string& method, const std::string& path, const std::string& body = "",
                                  const std::vector<std::pair<std::string, std::string>>& headers = {},
                                  bool json = true) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") {
    if (json) r += "Content-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  r += "\r\n" + body;
  return r;
}

// One request on a fresh connection.
inline RawResponse http_request(uint16_t port, const std::string& method, const std::string& path,
                                const std::string& body = "",
                                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  RawConnection c(port);
  c.send(format_request(method, path, body, headers));
  auto r = c.read_response();
  if (!r) throw std::runtime_error("no response to " + method + " " + path);
  return *r;
}

// The JSON payloads of the "data:" events in an SSE body, in order ("[DONE]" included verbatim).
inline std::vector<std::string> sse_payloads(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::string event = body.substr(pos, end - pos);
    if (event.rfind("data: ", 0) == 0) out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

}  // namespace ridge::test
