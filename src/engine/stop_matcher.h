#pragma once
// Stop strings over streamed text: releases text as it arrives except a tail
// that could still grow into a stop string, and cuts the output just before
// the first stop string that completes (the stop string itself is never
// emitted).
#include <string>
#include <string_view>
#include <vector>

namespace ridge::engine {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Takes newly decoded text; returns what may be shown now. After a stop
  // string completes, stopped() is true and later input is ignored.
  std::string push(std::string_view text);
  // The held-back tail, at the end of generation (empty once stopped).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace ridge::engine
