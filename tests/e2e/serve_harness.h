#pragma once
// Runs the real `ridge serve` for end-to-end tests: starts it on --port 0,
// reads the port from its "ridge: listening on http://HOST:PORT" line, keeps
// collecting its stderr, and stops it with SIGTERM (SIGKILL as a last resort).
// Also picks the model: stories260K from the test data, else a random-weight
// model written with the project's writer.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/testdata.h"
#include "model/random_model.h"

namespace ridge::test {

// stories260K when the test data has it, else a small random llama model in `scratch`.
inline std::filesystem::path serve_test_model() {
  if (auto p = testdata_file("models/stories260K.gguf")) return *p;
  const auto path = scratch_dir("serve-model") / "random-tiny.gguf";
  if (!std::filesystem::exists(path)) {
    model::RandomModelSpec spec = model::random_model_shape("tiny");
    spec.n_ctx = 512;
    model::write_random_llama(spec, path.string());
  }
  return path;
}

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    int err_pipe[2];
    if (pipe(err_pipe)) throw std::runtime_error("pipe failed");
    args.insert(args.begin(), {RIDGE_BINARY, "serve", "--port", "0"});
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(err_pipe[1], 2);
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      dup2(devnull, 1);
      close(err_pipe[0]);
      close(err_pipe[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(err_pipe[1]);
    err_fd_ = err_pipe[0];
    reader_ = std::thread([this] {
      char buf[4096];
      for (;;) {
        const ssize_t n = read(err_fd_, buf, sizeof buf);
        if (n <= 0) break;
        std::lock_guard lock(mu_);
        err_.append(buf, static_cast<size_t>(n));
      }
    });
    const std::regex listening("ridge: listening on http://([^ ]+):([0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string e = stderr_text();
      if (std::regex_search(e, m, listening)) {
        host_ = m[1];
        port_ = static_cast<uint16_t>(std::stoi(m[2]));
        return;
      }
      if (exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("ridge serve did not start; stderr:\n" + stderr_text());
  }
  ~ServeProcess() { stop(); }

  uint16_t port() const { return port_; }
  std::string base_url() const { return "http://" + host_ + ":" + std::to_string(port_); }
  std::string stderr_text() const {
    std::lock_guard lock(mu_);
    return err_;
  }

  // Sends SIGTERM and waits up to `timeout` for the exit; returns the exit
  // status (-1: it had to be killed or died from a signal).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (exited()) return status_;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = -1;
    join_reader();
    return status_;
  }

 private:
  bool exited() {
    if (pid_ <= 0) return true;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) != pid_) return false;
    pid_ = -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    join_reader();
    return true;
  }
  void join_reader() {
    if (reader_.joinable()) reader_.join();
    if (err_fd_ >= 0) close(err_fd_);
    err_fd_ = -1;
  }
  void stop() {
    if (pid_ > 0) terminate(std::chrono::seconds(20));
    join_reader();
  }

  pid_t pid_ = -1;
  int err_fd_ = -1;
  int status_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::string err_;
  std::string host_;
  uint16_t port_ = 0;
};

}  // namespace ridge::test
