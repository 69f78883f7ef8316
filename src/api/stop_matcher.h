// Stop strings in streamed text. Text arrives in pieces (one token's worth at a time); a stop
// string may span pieces. Text that could still turn out to be the start of a stop string is
// held back, so a stop string is never emitted, not even in part.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weblm::api {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Appends `text` and returns what is now safe to emit: everything before the earliest stop
  // string once one appears (then stopped() is true and later text is ignored), else everything
  // but the longest tail that begins some stop string. Input of whole UTF-8 characters gives
  // output of whole characters (a stop string starts on a character boundary).
  std::string push(std::string_view text);
  // The held-back tail, once no more text will come (no stop string can complete any more).
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace weblm::api
