// Special-token partitioning (see special_partition.h), including the
// LSTRIP/RSTRIP attributes that swallow whitespace beside a matched token.
#include "tokenizer/special_partition.h"

namespace ridge::tokenizer {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Cuts every occurrence of token `id` out of the raw span [offset, offset+length).
void split_span(const Vocab& vocab, std::string_view text, int32_t id, size_t offset, size_t length,
                std::vector<Fragment>& out) {
  const std::string_view needle = vocab.texts[id];
  const uint32_t attr = vocab.attrs[id];
  const size_t end = offset + length;
  const std::string_view span = text.substr(0, end);
  size_t pos = offset;
  while (true) {
    const size_t match = span.find(needle, pos);
    if (match == std::string_view::npos) {
      if (end > pos) out.push_back({-1, pos, end - pos});
      return;
    }
    size_t left_end = match;
    if (attr & kAttrLstrip)
      while (left_end > pos && is_ascii_space(text[left_end - 1])) --left_end;
    if (left_end > pos) out.push_back({-1, pos, left_end - pos});
    out.push_back({id, 0, 0});
    pos = match + needle.size();
    if (attr & kAttrRstrip)
      while (pos < end && is_ascii_space(text[pos])) ++pos;
  }
}

}  // namespace

std::vector<Fragment> partition_special(const Vocab& vocab, std::string_view text, bool parse_special) {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({-1, 0, text.size()});
  std::vector<Fragment> next;
  for (const int32_t id : vocab.special_tokens) {
    if (!parse_special && (vocab.attrs[id] & (kAttrControl | kAttrUnknown))) continue;
    // Every raw fragment is a span of `text`, so a token absent from it cannot split anything.
    if (text.find(vocab.texts[id]) == std::string_view::npos) continue;
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token >= 0) next.push_back(f);
      else split_span(vocab, text, id, f.offset, f.length, next);
    }
    fragments.swap(next);
  }
  return fragments;
}

}  // namespace ridge::tokenizer
