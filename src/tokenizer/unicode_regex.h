#pragma once
// A small backtracking regex engine over codepoints, made for the pre-tokenizer
// patterns of byte-level BPE vocabularies (GPT-2, Llama 3, Qwen2, DeepSeek...).
// Leftmost-first (PCRE/ECMAScript) semantics. Supported: literals, `.`, `^`, `$`,
// escapes (\r \n \t \f \v \0 \xHH \uHHHH \x{H...} and escaped punctuation),
// \s \S \d \D \w \W, \p{X} / \P{X} for L Lu Ll Lt Lm Lo M N P S Z C, classes
// with ranges, negation and nested escapes, groups (capturing groups only
// group), (?:...), (?i:...) (simple case folding), (?=...), (?!...), greedy
// and lazy ? * + {m} {m,} {m,n}, and `|`.
//
// Matching stays linear in the subject for a given pattern: each (instruction,
// position) state is explored at most once per search (a failed state cannot
// succeed later), so no input triggers catastrophic backtracking, and the
// backtracking stack is explicit (no recursion on the subject).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::tokenizer::unicode_regex {

// A pattern that does not parse; the message names the byte offset at fault.
class PatternError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One position of the subject as the matcher sees it. Literals and ranges
// compare `symbol`; \s tests `is_space`; \p{X} tests `categories` (unicode::CategoryBit).
// The caller decides these per codepoint, which is how llama.cpp's different
// matching back ends (category-collapsed text, wide text) are reproduced.
struct Unit {
  uint32_t symbol = 0;
  uint16_t categories = 0;
  bool is_space = false;
};

struct Match {
  size_t begin = 0;
  size_t end = 0;
};

class Regex {
 public:
  // Throws PatternError. `pattern` is UTF-8.
  static Regex compile(std::string_view pattern);

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Every match in subject, left to right, like std::regex_iterator: after an
  // empty match at p the next match is a non-empty one starting at p, else the
  // search resumes at p + 1. `$` and lookaheads see the end of `subject` as the
  // end of the text.
  std::vector<Match> find_all(std::span<const Unit> subject) const;

  // The leftmost-first match starting at or after `from`, if any.
  std::optional<Match> find(std::span<const Unit> subject, size_t from = 0) const;

  const std::string& pattern() const;
  size_t program_size() const;

  struct Program;

 private:
  friend class Searcher;
  explicit Regex(std::unique_ptr<Program> program);
  std::unique_ptr<Program> program_;
};

// Search state for one Regex, reused across subjects so that splitting many
// small pieces does not allocate per piece. One per thread; the Regex must
// outlive it.
class Searcher {
 public:
  explicit Searcher(const Regex& regex);
  Searcher(Searcher&&) noexcept;
  ~Searcher();

  // Same results as Regex::find_all / Regex::find.
  std::vector<Match> find_all(std::span<const Unit> subject);
  std::optional<Match> find(std::span<const Unit> subject, size_t from = 0);

  class Matcher;

 private:
  std::unique_ptr<Matcher> matcher_;
};

}  // namespace ridge::tokenizer::unicode_regex
