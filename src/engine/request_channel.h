#pragma once
// The per-request event channel between the step thread (producer) and the
// request's consumer (an HTTP thread), and the RequestHandle built on it.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "engine/engine.h"

namespace ridge::engine {

class RequestChannel {
 public:
  // Stamps the event's time and wakes the consumer.
  void push(Event e);
  std::optional<Event> pop(std::chrono::milliseconds timeout);
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  std::atomic<bool> cancelled_{false};
};

// What submit() returns: cancels the request when destroyed.
class ChannelHandle final : public RequestHandle {
 public:
  explicit ChannelHandle(std::shared_ptr<RequestChannel> channel) : channel_(std::move(channel)) {}
  ~ChannelHandle() override { channel_->cancel(); }
  std::optional<Event> next(std::chrono::milliseconds timeout) override { return channel_->pop(timeout); }
  void cancel() override { channel_->cancel(); }

 private:
  std::shared_ptr<RequestChannel> channel_;
};

}  // namespace ridge::engine
