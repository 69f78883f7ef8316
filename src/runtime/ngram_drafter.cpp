#include "runtime/ngram_drafter.h"

#include <algorithm>

namespace weblm {

namespace {
// Start of the latest earlier occurrence of the context's last n tokens, or -1.
int64_t latest_match(std::span<const int32_t> context, size_t n) {
  const size_t size = context.size();
  const std::span<const int32_t> tail = context.subspan(size - n);
  for (int64_t start = static_cast<int64_t>(size - n) - 1; start >= 0; --start)
    if (std::equal(tail.begin(), tail.end(), context.begin() + start)) return start;
  return -1;
}
}  // namespace

void NgramDrafter::propose(int32_t /*stream*/, std::span<const int32_t> context, int32_t max_tokens,
                           std::vector<int32_t>& out) {
  out.clear();
  if (max_tokens <= 0) return;
  for (size_t n = std::min<size_t>(kLongestNgram, context.size() > 0 ? context.size() - 1 : 0); n >= 1; --n) {
    const int64_t start = latest_match(context, n);
    if (start < 0) continue;
    // Copy what followed the match; when the copy reaches the end of the context it goes on
    // with its own proposals, so a repeating pattern is proposed for as long as asked.
    const size_t from = static_cast<size_t>(start) + n;
    for (size_t i = 0; i < static_cast<size_t>(max_tokens); ++i) {
      const size_t at = from + i;
      out.push_back(at < context.size() ? context[at] : out[at - context.size()]);
    }
    return;
  }
}

}  // namespace weblm
