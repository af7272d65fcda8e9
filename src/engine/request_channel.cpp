#include "engine/request_channel.h"

namespace ridge::engine {

void RequestChannel::push(Event e) {
  e.time = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(mu_);
    events_.push_back(std::move(e));
  }
  ready_.notify_all();
}

std::optional<Event> RequestChannel::pop(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  if (!ready_.wait_for(lk, timeout, [&] { return !events_.empty(); })) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace ridge::engine
