#include "server/http_server.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/api_error.h"

namespace ridge::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

constexpr long long kChunked = -1;        // Transfer-Encoding: chunked
constexpr long long kCloseDelimited = -2; // body ends when the connection closes (HTTP/1.0 streams)

std::string response_head(int status, const std::string& content_type, const HeaderList& extra,
                          long long content_length, bool keep_alive) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                  std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\r\n";
  h += "Server: ridge\r\n";
  h += "Access-Control-Allow-Origin: *\r\n";
  if (!content_type.empty()) h += "Content-Type: " + content_type + "\r\n";
  if (content_length >= 0 && status != 204) h += "Content-Length: " + std::to_string(content_length) + "\r\n";
  if (content_length == kChunked) h += "Transfer-Encoding: chunked\r\n";
  for (const auto& [k, v] : extra) h += k + ": " + v + "\r\n";
  h += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  h += "\r\n";
  return h;
}

HttpResponse error_response(const ApiError& e) {
  HttpResponse r;
  r.status = e.status();
  r.body = dump_json(e.body());
  if (e.retry_after() > 0) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after()));
  if (e.status() == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

// Shared by a session and the handler thread answering through it.
struct ReplyState {
  std::atomic<bool> gone{false};
  std::mutex mu;
  std::condition_variable cv;
  size_t buffered = 0;  // bytes queued but not yet written

  void mark_gone() {
    gone = true;
    std::lock_guard lock(mu);
    cv.notify_all();
  }
};

}  // namespace

class Session;

// Everything the threads share; HttpServer::Impl is this (Session needs a name it may use).
struct ServerCore {
  HttpServerConfig cfg;
  RequestHandler handler;
  ResponseObserver observer;

  std::atomic<bool> stopping{false};
  std::atomic<int> handlers{0};
  std::atomic<int> sessions_alive{0};
  mutable std::mutex idle_mu;
  mutable std::condition_variable idle_cv;
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<Session>> sessions;

  // Declared after the counters (sessions touch them when destroyed with the
  // io_context) and before the workers (whose tasks hold sessions).
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  std::unique_ptr<net::thread_pool> workers;
  std::vector<std::thread> io_threads;
  uint16_t bound_port = 0;
  bool started = false;
  bool shut_down = false;

  void do_accept();
  void handler_done() {
    {
      std::lock_guard lock(idle_mu);
      --handlers;
    }
    idle_cv.notify_all();
  }
};

struct HttpServer::Impl : ServerCore {};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore& srv, tcp::socket socket)
      : srv_(srv), socket_(std::move(socket)), timer_(socket_.get_executor()) {
    ++srv_.sessions_alive;
    reply_ = std::make_shared<ReplyState>();
    // SSE chunks are small and latency-sensitive: send each at once rather than let Nagle batch them.
    error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }
  ~Session() { --srv_.sessions_alive; }

  void start() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->wait_request(); });
  }

  // From any thread: close the connection when it is waiting for a request (or always when `force`).
  void close_if_idle(bool force) {
    net::post(socket_.get_executor(), [self = shared_from_this(), force] {
      if (force || self->idle_waiting_) self->close();
    });
  }

  // ---- called (posted) by the Exchange on the strand ----
  void deliver(HttpResponse r, const std::shared_ptr<ReplyState>& st) {
    if (st != reply_) return;  // a late call for an earlier request
    status_ = r.status;
    const bool ka = keep_alive_ && !close_after_ && !srv_.stopping;
    enqueue(response_head(r.status, r.content_type, r.headers, static_cast<long long>(r.body.size()), ka) + r.body,
            true);
  }
  void begin_stream(int status, const std::string& content_type, const HeaderList& headers,
                    const std::shared_ptr<ReplyState>& st) {
    if (st != reply_) return;
    status_ = status;
    if (http10_) close_after_ = true;
    const bool ka = keep_alive_ && !close_after_ && !srv_.stopping;
    if (!ka) close_after_ = true;
    enqueue(response_head(status, content_type, headers, http10_ ? kCloseDelimited : kChunked, ka), false);
  }
  void stream_bytes(std::string framed, bool last, const std::shared_ptr<ReplyState>& st) {
    if (st != reply_) return;
    enqueue(std::move(framed), last);
  }
  bool http10() const { return http10_; }
  const std::shared_ptr<ReplyState>& reply_state() const { return reply_; }

 private:
  void arm(std::chrono::milliseconds d) {
    const uint64_t gen = ++timer_gen_;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
      if (!ec && gen == self->timer_gen_) self->close();
    });
  }
  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    disarm();
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    reply_->mark_gone();
  }

  // Half-closes, then reads (and discards) what the client still sends for a
  // moment, so the client sees the response rather than a reset.
  void graceful_close() {
    if (closed_ || draining_) return;
    draining_ = true;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    arm(std::chrono::milliseconds(2000));
    if (!watching_) watch();
  }

  void wait_request() {
    if (closed_) return;
    if (srv_.stopping) return graceful_close();
    reply_ = std::make_shared<ReplyState>();
    response_done_ = false;
    if (buffer_.size() > 0) return read_header();
    idle_waiting_ = true;
    arm(srv_.cfg.idle_timeout);
    socket_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, size_t n) {
      self->idle_waiting_ = false;
      self->disarm();
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.cfg.max_header_bytes));
    parser_->body_limit(srv_.cfg.max_body_bytes);
    path_ = "other";
    arm(srv_.cfg.header_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  bool refuse_on_parse_error(error_code ec) {
    if (ec == http::error::header_limit) {
      respond_and_close(ApiError(431, "the request headers are larger than " +
                                          std::to_string(srv_.cfg.max_header_bytes) + " bytes",
                                 "invalid_request_error", std::nullopt, "request_header_too_large"));
      return true;
    }
    if (ec == http::error::body_limit) {
      respond_and_close(body_too_large());
      return true;
    }
    if (ec.category() == beast::http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      respond_and_close(ApiError(400, "malformed HTTP request: " + ec.message(), "invalid_request_error",
                                 std::nullopt, "bad_request"));
      return true;
    }
    return false;
  }

  ApiError body_too_large() const {
    return ApiError(413, "the request body is larger than the limit of " + std::to_string(srv_.cfg.max_body_bytes) +
                             " bytes", "invalid_request_error", std::nullopt, "request_too_large");
  }

  void on_header(error_code ec) {
    disarm();
    if (closed_) return;
    if (ec) {
      if (!refuse_on_parse_error(ec)) close();
      return;
    }
    auto& h = parser_->get();
    path_ = std::string(h.target().substr(0, h.target().find('?')));
    if (auto cl = parser_->content_length(); cl && *cl > srv_.cfg.max_body_bytes)
      return respond_and_close(body_too_large());
    if (beast::iequals(h[http::field::expect], "100-continue") && !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(srv_.cfg.write_timeout);
      net::async_write(socket_, net::buffer(kContinue), [self = shared_from_this()](error_code ec, size_t) {
        self->disarm();
        if (ec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return dispatch();
    arm(srv_.cfg.body_timeout);
    http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
      self->disarm();
      if (self->closed_) return;
      if (ec) {
        if (!self->refuse_on_parse_error(ec)) self->close();
        return;
      }
      self->dispatch();
    });
  }

  void respond_and_close(const ApiError& e) {
    close_after_ = true;
    keep_alive_ = false;
    deliver(error_response(e), reply_);
  }

  void dispatch() {
    auto req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();
    http10_ = req.version() < 11;
    HttpRequest hr;
    hr.method = std::string(req.method_string());
    hr.target = std::string(req.target());
    hr.path = hr.target.substr(0, hr.target.find('?'));
    for (const auto& f : req) hr.headers.emplace_back(lower(std::string(f.name_string())), std::string(f.value()));
    hr.body = std::move(req.body());
    error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) hr.remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    path_ = hr.path;

    if (hr.method == "OPTIONS") {  // CORS preflight: public, no body
      HttpResponse r;
      r.status = 204;
      r.content_type.clear();
      std::string allow = hr.header("access-control-request-headers");
      r.headers = {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                   {"Access-Control-Allow-Headers", allow.empty() ? "Authorization, Content-Type" : allow},
                   {"Access-Control-Max-Age", "86400"}};
      return deliver(std::move(r), reply_);
    }
    if (srv_.stopping) {
      close_after_ = true;
      return deliver(error_response(ApiError(503, "the server is shutting down", "server_error", std::nullopt,
                                             "server_shutting_down")),
                     reply_);
    }
    {
      std::lock_guard lock(srv_.idle_mu);
      if (srv_.handlers >= srv_.cfg.worker_threads)
        return deliver(error_response(overloaded("too many requests in flight; retry shortly")), reply_);
      ++srv_.handlers;
    }
    run_handler(std::move(hr));
  }

  void run_handler(HttpRequest req);

  void watch() {
    watching_ = true;
    socket_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, size_t n) {
      self->on_watch(ec, n);
    });
  }

  void on_watch(error_code ec, size_t n) {
    watching_ = false;
    if (draining_) {
      if (ec) return close();
      buffer_.consume(buffer_.size());
      return watch();
    }
    if (!ec) {
      buffer_.commit(n);  // a pipelined request: kept for later
      if (resume_after_watch_) {
        resume_after_watch_ = false;
        return wait_request();
      }
      if (buffer_.size() < 65536) watch();
      return;
    }
    if (ec == net::error::operation_aborted && resume_after_watch_ && !closed_) {
      resume_after_watch_ = false;
      return wait_request();
    }
    // End of stream or reset while the handler runs: the client is gone.
    reply_->mark_gone();
    if (!writing_) close();
  }

  void enqueue(std::string bytes, bool last) {
    if (closed_) {
      reply_->mark_gone();
      return;
    }
    if (!bytes.empty()) out_.push_back(std::move(bytes));
    if (last) final_queued_ = true;
    if (!writing_) {
      if (!out_.empty()) do_write();
      else if (final_queued_) on_response_complete();
    }
  }

  void do_write() {
    writing_ = true;
    arm(srv_.cfg.write_timeout);
    net::async_write(socket_, net::buffer(out_.front()), [self = shared_from_this()](error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    writing_ = false;
    disarm();
    const size_t written = out_.front().size();
    out_.pop_front();
    {
      std::lock_guard lock(reply_->mu);
      reply_->buffered -= std::min(reply_->buffered, written);
      reply_->cv.notify_all();
    }
    if (ec) return close();
    if (!out_.empty()) return do_write();
    if (final_queued_) on_response_complete();
  }

  void on_response_complete() {
    final_queued_ = false;
    response_done_ = true;
    if (srv_.observer) srv_.observer(path_, status_);
    if (close_after_ || !keep_alive_ || srv_.stopping) return graceful_close();
    if (watching_) {
      resume_after_watch_ = true;
      error_code ec;
      socket_.cancel(ec);
      return;
    }
    wait_request();
  }

  ServerCore& srv_;
  tcp::socket socket_;
  net::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> out_;
  std::shared_ptr<ReplyState> reply_;
  std::string path_ = "other";
  int status_ = 0;
  bool writing_ = false, final_queued_ = false, response_done_ = false;
  bool keep_alive_ = true, close_after_ = false, http10_ = false;
  bool watching_ = false, resume_after_watch_ = false, idle_waiting_ = false;
  bool closed_ = false, draining_ = false;

  friend class ExchangeOverSession;
};

// The handler's side: posts everything to the session's strand.
class ExchangeOverSession : public Exchange {
 public:
  ExchangeOverSession(std::shared_ptr<Session> s, size_t max_buffered)
      : s_(std::move(s)), st_(s_->reply_state()), http10_(s_->http10()), max_buffered_(max_buffered) {}

  void reply(HttpResponse r) override {
    if (started_) return;
    started_ = ended_ = true;
    add_buffered(r.body.size());
    net::post(s_->socket_.get_executor(), [s = s_, st = st_, r = std::move(r)]() mutable { s->deliver(std::move(r), st); });
  }
  void begin_stream(int status, const std::string& content_type, const HeaderList& headers) override {
    if (started_) return;
    started_ = true;
    net::post(s_->socket_.get_executor(),
              [s = s_, st = st_, status, content_type, headers] { s->begin_stream(status, content_type, headers, st); });
  }
  bool send(std::string data) override {
    if (!started_ || ended_) return false;
    if (data.empty()) return !st_->gone;
    {
      std::unique_lock lock(st_->mu);
      while (!st_->gone && st_->buffered > max_buffered_) st_->cv.wait_for(lock, std::chrono::milliseconds(100));
      if (st_->gone) return false;
    }
    std::string framed;
    if (http10_) {
      framed = std::move(data);
    } else {
      char len[20];
      std::snprintf(len, sizeof len, "%zx\r\n", data.size());
      framed = len + data + "\r\n";
    }
    add_buffered(framed.size());
    net::post(s_->socket_.get_executor(),
              [s = s_, st = st_, f = std::move(framed)]() mutable { s->stream_bytes(std::move(f), false, st); });
    return !st_->gone;
  }
  void end_stream() override {
    if (!started_ || ended_) return;
    ended_ = true;
    net::post(s_->socket_.get_executor(), [s = s_, st = st_, last = std::string(http10_ ? "" : "0\r\n\r\n")]() mutable {
      s->stream_bytes(std::move(last), true, st);
    });
  }
  bool client_gone() const override { return st_->gone; }

  // After the handler returns: make sure the client gets a complete response.
  void finish() {
    if (!started_) {
      reply(error_response(ApiError(500, "the handler produced no response", "server_error")));
    } else if (!ended_) {
      end_stream();
    }
  }
  bool started() const { return started_; }

 private:
  void add_buffered(size_t n) {
    std::lock_guard lock(st_->mu);
    st_->buffered += n;
  }
  std::shared_ptr<Session> s_;
  std::shared_ptr<ReplyState> st_;
  bool http10_;
  size_t max_buffered_;
  bool started_ = false, ended_ = false;
};

void Session::run_handler(HttpRequest req) {
  response_done_ = false;
  auto ex = std::make_shared<ExchangeOverSession>(shared_from_this(), srv_.cfg.max_buffered_stream_bytes);
  if (!watching_) watch();
  ServerCore* srv = &srv_;
  net::post(*srv_.workers, [srv, ex, req = std::move(req)] {
    try {
      srv->handler(req, *ex);
    } catch (const ApiError& e) {
      if (!ex->started()) ex->reply(error_response(e));
    } catch (const std::exception& e) {
      if (!ex->started())
        ex->reply(error_response(ApiError(500, std::string("internal error: ") + e.what(), "server_error")));
    }
    ex->finish();
    srv->handler_done();
  });
}

void ServerCore::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
    if (!acceptor.is_open() || stopping) return;
    if (ec) {
      // Out of file descriptors and the like: try again shortly rather than spin.
      auto t = std::make_shared<net::steady_timer>(acceptor.get_executor(), std::chrono::milliseconds(50));
      t->async_wait([this, t](error_code) { do_accept(); });
      return;
    }
    auto s = std::make_shared<Session>(*this, std::move(socket));
    {
      std::lock_guard lock(sessions_mu);
      std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
      sessions.push_back(s);
    }
    s->start();
    do_accept();
  });
}

HttpServer::HttpServer(HttpServerConfig cfg, RequestHandler handler, ResponseObserver observer)
    : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->handler = std::move(handler);
  impl_->observer = std::move(observer);
}

HttpServer::~HttpServer() {
  if (impl_->started && !impl_->shut_down) shutdown();
}

void HttpServer::start() {
  auto& s = *impl_;
  const std::string where = s.cfg.host + ":" + std::to_string(s.cfg.port);
  error_code ec;
  auto addr = net::ip::make_address(s.cfg.host, ec);
  if (ec) {
    // A host name: resolve it (loopback names mostly).
    tcp::resolver resolver(s.ioc);
    auto results = resolver.resolve(s.cfg.host, std::to_string(s.cfg.port), ec);
    if (ec || results.empty()) throw std::runtime_error("cannot resolve host '" + s.cfg.host + "': " + ec.message());
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, s.cfg.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  s.bound_port = s.acceptor.local_endpoint().port();
  s.workers = std::make_unique<net::thread_pool>(static_cast<size_t>(std::max(1, s.cfg.worker_threads)));
  s.do_accept();
  for (int i = 0; i < std::max(1, s.cfg.io_threads); ++i) s.io_threads.emplace_back([&s] { s.ioc.run(); });
  s.started = true;
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::stop_accepting() {
  auto& s = *impl_;
  if (s.stopping.exchange(true)) return;
  net::post(s.acceptor.get_executor(), [&s] {
    error_code ec;
    s.acceptor.close(ec);
  });
  std::lock_guard lock(s.sessions_mu);
  for (auto& w : s.sessions)
    if (auto p = w.lock()) p->close_if_idle(false);
}

int HttpServer::handlers_running() const { return impl_->handlers; }

bool HttpServer::wait_handlers(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->idle_mu);
  return impl_->idle_cv.wait_for(lock, timeout, [&] { return impl_->handlers == 0; });
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  auto& s = *impl_;
  if (!s.started || s.shut_down) return;
  s.shut_down = true;
  stop_accepting();
  wait_handlers(grace);
  // Connections finish writing what they have, then close (graceful_close
  // bounds each by its drain timer); give them the grace period.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.sessions_alive > 0 && std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(s.sessions_mu);
      for (auto& w : s.sessions)
        if (auto p = w.lock()) p->close_if_idle(false);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  s.ioc.stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  if (s.workers) s.workers->join();
}

}  // namespace ridge::server
