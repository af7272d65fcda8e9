#include "tokenizer/unicode_regex.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "tokenizer/unicode_text.h"

namespace ridge::tokenizer::unicode_regex {

namespace {

using unicode::kCatC;
using unicode::kCatL;
using unicode::kCatLl;
using unicode::kCatLm;
using unicode::kCatLo;
using unicode::kCatLt;
using unicode::kCatLu;
using unicode::kCatM;
using unicode::kCatN;
using unicode::kCatP;
using unicode::kCatS;
using unicode::kCatZ;

constexpr size_t kMaxNesting = 64;          // groups inside groups
constexpr uint32_t kMaxRepeat = 1000;       // largest {m,n} bound
constexpr size_t kMaxProgramSize = 200000;  // instructions after expanding repeats
constexpr uint32_t kInfinite = std::numeric_limits<uint32_t>::max();

struct ClassItem {
  enum class Kind : uint8_t { Range, Category, NotCategory, Space, NotSpace, Digit, NotDigit, Word, NotWord };
  Kind kind = Kind::Range;
  uint32_t lo = 0;
  uint32_t hi = 0;
  uint16_t mask = 0;
};

struct CharClass {
  std::vector<ClassItem> items;
  bool negated = false;
  bool case_insensitive = false;
};

bool is_word_symbol(uint32_t s) {
  return (s >= 'a' && s <= 'z') || (s >= 'A' && s <= 'Z') || (s >= '0' && s <= '9') || s == '_';
}

bool in_range(const ClassItem& item, uint32_t s, bool fold) {
  if (s >= item.lo && s <= item.hi) return true;
  if (!fold) return false;
  const uint32_t lower = unicode::to_lower(s);
  if (lower >= item.lo && lower <= item.hi) return true;
  const uint32_t upper = unicode::to_upper(s);
  return upper >= item.lo && upper <= item.hi;
}

bool class_matches(const CharClass& cls, const Unit& u) {
  bool hit = false;
  for (const ClassItem& item : cls.items) {
    switch (item.kind) {
      case ClassItem::Kind::Range: hit = in_range(item, u.symbol, cls.case_insensitive); break;
      case ClassItem::Kind::Category: hit = (u.categories & item.mask) != 0; break;
      case ClassItem::Kind::NotCategory: hit = (u.categories & item.mask) == 0; break;
      case ClassItem::Kind::Space: hit = u.is_space; break;
      case ClassItem::Kind::NotSpace: hit = !u.is_space; break;
      case ClassItem::Kind::Digit: hit = u.symbol >= '0' && u.symbol <= '9'; break;
      case ClassItem::Kind::NotDigit: hit = !(u.symbol >= '0' && u.symbol <= '9'); break;
      case ClassItem::Kind::Word: hit = is_word_symbol(u.symbol); break;
      case ClassItem::Kind::NotWord: hit = !is_word_symbol(u.symbol); break;
    }
    if (hit) break;
  }
  return hit != cls.negated;
}

// ---- syntax tree ----

struct Node {
  enum class Kind : uint8_t { Empty, Char, Class, Any, Begin, End, Concat, Alt, Repeat, Look };
  Kind kind = Kind::Empty;
  uint32_t value = 0;  // Char: codepoint; Class: class index
  uint32_t min = 0, max = 0;
  bool greedy = true;
  bool negate = false;  // Look: (?!...)
  std::vector<std::unique_ptr<Node>> children;
};

std::unique_ptr<Node> make(Node::Kind kind) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  return n;
}

}  // namespace

// ---- program ----

enum class Op : uint8_t { Char, Class, Any, Split, Jmp, Begin, End, Look, Match };

struct Inst {
  Op op = Op::Match;
  bool negate = false;  // Look
  uint32_t a = 0;       // Char: codepoint; Class: index; Split: preferred pc; Jmp/Look: target pc
  uint32_t b = 0;       // Split: other pc
};

struct Regex::Program {
  std::string pattern;
  std::vector<Inst> code;
  std::vector<CharClass> classes;
  size_t look_depth = 0;  // deepest lookaround nesting; each level needs its own scratch
};

namespace {

// ---- parser ----

class Parser {
 public:
  Parser(std::string_view pattern, std::vector<CharClass>& classes) : classes_(classes) {
    const auto decoded = unicode::decode_utf8_lenient(pattern);
    for (size_t i = 0; i < decoded.codepoints.size(); ++i) {
      if (decoded.codepoints[i] == unicode::kReplacementCharacter &&
          decoded.offsets[i + 1] - decoded.offsets[i] == 1 &&
          static_cast<unsigned char>(pattern[decoded.offsets[i]]) >= 0x80) {
        throw PatternError("regex: invalid UTF-8 at byte " + std::to_string(decoded.offsets[i]));
      }
    }
    cps_ = decoded.codepoints;
    offsets_ = decoded.offsets;
  }

  std::unique_ptr<Node> parse() {
    auto node = parse_alternation(0, false);
    if (pos_ < cps_.size()) fail("unmatched ')'");
    return node;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    const size_t at = offsets_[std::min(pos_, offsets_.size() - 1)];
    throw PatternError("regex: " + what + " at byte " + std::to_string(at));
  }

  bool done() const { return pos_ >= cps_.size(); }
  uint32_t peek(size_t ahead = 0) const { return pos_ + ahead < cps_.size() ? cps_[pos_ + ahead] : 0; }
  bool peek_is(uint32_t c, size_t ahead = 0) const { return pos_ + ahead < cps_.size() && cps_[pos_ + ahead] == c; }
  uint32_t take() {
    if (done()) fail("unexpected end of pattern");
    return cps_[pos_++];
  }

  std::unique_ptr<Node> parse_alternation(size_t depth, bool icase) {
    if (depth > kMaxNesting) fail("groups nested too deeply");
    auto first = parse_sequence(depth, icase);
    if (!peek_is('|')) return first;
    auto alt = make(Node::Kind::Alt);
    alt->children.push_back(std::move(first));
    while (peek_is('|')) {
      ++pos_;
      alt->children.push_back(parse_sequence(depth, icase));
    }
    return alt;
  }

  std::unique_ptr<Node> parse_sequence(size_t depth, bool icase) {
    auto seq = make(Node::Kind::Concat);
    while (!done() && !peek_is('|') && !peek_is(')')) {
      auto atom = parse_atom(depth, icase);
      seq->children.push_back(parse_quantifiers(std::move(atom)));
    }
    if (seq->children.size() == 1) return std::move(seq->children.front());
    return seq;
  }

  // Reads {m}, {m,} or {m,n} when present; leaves pos_ alone (a literal '{') otherwise.
  bool parse_braces(uint32_t& min, uint32_t& max) {
    size_t p = pos_ + 1;
    auto read_number = [&](uint32_t& out) {
      size_t start = p;
      uint64_t v = 0;
      while (p < cps_.size() && cps_[p] >= '0' && cps_[p] <= '9') {
        v = v * 10 + (cps_[p] - '0');
        if (v > kMaxRepeat) {
          pos_ = p;
          fail("repeat count over " + std::to_string(kMaxRepeat));
        }
        ++p;
      }
      out = static_cast<uint32_t>(v);
      return p > start;
    };
    if (!read_number(min)) return false;
    max = min;
    if (p < cps_.size() && cps_[p] == ',') {
      ++p;
      if (!read_number(max)) max = kInfinite;
    }
    if (p >= cps_.size() || cps_[p] != '}') return false;
    if (max < min) fail("repeat bounds out of order");
    pos_ = p + 1;
    return true;
  }

  // At most one quantifier per atom (plus a lazy '?'); "a**" is an error, as in ECMAScript.
  std::unique_ptr<Node> parse_quantifiers(std::unique_ptr<Node> atom) {
    uint32_t min = 0, max = 0;
    if (!parse_one_quantifier(min, max)) return atom;
    if (atom->kind == Node::Kind::Begin || atom->kind == Node::Kind::End) fail("nothing to repeat");
    auto rep = make(Node::Kind::Repeat);
    rep->min = min;
    rep->max = max;
    if (peek_is('?')) {
      ++pos_;
      rep->greedy = false;
    } else if (peek_is('+')) {
      fail("possessive quantifiers are not supported");
    }
    uint32_t unused_min = 0, unused_max = 0;
    const size_t before = pos_;
    if (parse_one_quantifier(unused_min, unused_max)) {
      pos_ = before;
      fail("nothing to repeat");
    }
    rep->children.push_back(std::move(atom));
    return rep;
  }

  bool parse_one_quantifier(uint32_t& min, uint32_t& max) {
    if (peek_is('*')) {
      ++pos_;
      min = 0, max = kInfinite;
    } else if (peek_is('+')) {
      ++pos_;
      min = 1, max = kInfinite;
    } else if (peek_is('?')) {
      ++pos_;
      min = 0, max = 1;
    } else if (!(peek_is('{') && parse_braces(min, max))) {
      return false;
    }
    return true;
  }

  std::unique_ptr<Node> class_node(CharClass cls) {
    classes_.push_back(std::move(cls));
    auto n = make(Node::Kind::Class);
    n->value = static_cast<uint32_t>(classes_.size() - 1);
    return n;
  }

  std::unique_ptr<Node> literal(uint32_t cp, bool icase) {
    if (icase && (unicode::to_lower(cp) != cp || unicode::to_upper(cp) != cp)) {
      CharClass cls;
      for (uint32_t v : {cp, unicode::to_lower(cp), unicode::to_upper(cp)})
        cls.items.push_back({ClassItem::Kind::Range, v, v, 0});
      return class_node(std::move(cls));
    }
    auto n = make(Node::Kind::Char);
    n->value = cp;
    return n;
  }

  std::unique_ptr<Node> parse_atom(size_t depth, bool icase) {
    const uint32_t c = take();
    switch (c) {
      case '(': return parse_group(depth, icase);
      case '[': return parse_class(icase);
      case '.': return make(Node::Kind::Any);
      case '^': return make(Node::Kind::Begin);
      case '$': return make(Node::Kind::End);
      case '*':
      case '+':
      case '?': --pos_; fail("nothing to repeat");
      case ')': --pos_; fail("unmatched ')'");
      case '\\': {
        ClassItem item;
        uint32_t cp = 0;
        if (parse_escape(item, cp)) {
          CharClass cls;
          cls.items.push_back(item);
          return class_node(std::move(cls));
        }
        return literal(cp, icase);
      }
      default: return literal(c, icase);
    }
  }

  std::unique_ptr<Node> parse_group(size_t depth, bool icase) {
    std::unique_ptr<Node> look;
    if (peek_is('?')) {
      ++pos_;
      const uint32_t kind = take();
      if (kind == ':') {
      } else if (kind == 'i' && peek_is(':')) {
        ++pos_;
        icase = true;
      } else if (kind == '=' || kind == '!') {
        look = make(Node::Kind::Look);
        look->negate = kind == '!';
      } else {
        --pos_;
        fail("unsupported group kind");
      }
    }
    auto body = parse_alternation(depth + 1, icase);
    if (!peek_is(')')) fail("missing ')'");
    ++pos_;
    if (!look) return body;
    look->children.push_back(std::move(body));
    return look;
  }

  static uint16_t property_mask(const std::u32string& name) {
    static const struct { const char32_t* name; uint16_t mask; } kProperties[] = {
        {U"L", kCatL},   {U"Lu", kCatLu}, {U"Ll", kCatLl}, {U"Lt", kCatLt}, {U"Lm", kCatLm}, {U"Lo", kCatLo},
        {U"M", kCatM},   {U"N", kCatN},   {U"P", kCatP},   {U"S", kCatS},   {U"Z", kCatZ},   {U"C", kCatC},
    };
    for (const auto& p : kProperties)
      if (name == p.name) return p.mask;
    return 0;
  }

  uint32_t parse_hex(size_t digits) {
    uint32_t v = 0;
    for (size_t i = 0; i < digits; ++i) {
      const uint32_t h = take();
      int d = -1;
      if (h >= '0' && h <= '9') d = static_cast<int>(h - '0');
      else if (h >= 'a' && h <= 'f') d = static_cast<int>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') d = static_cast<int>(h - 'A' + 10);
      if (d < 0) {
        --pos_;
        fail("bad hex digit");
      }
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return v;
  }

  // After a backslash. Returns true and fills `item` for a class escape
  // (\s \d \p{..}...), false and fills `cp` for a single character.
  bool parse_escape(ClassItem& item, uint32_t& cp) {
    const uint32_t c = take();
    switch (c) {
      case 's': item.kind = ClassItem::Kind::Space; return true;
      case 'S': item.kind = ClassItem::Kind::NotSpace; return true;
      case 'd': item.kind = ClassItem::Kind::Digit; return true;
      case 'D': item.kind = ClassItem::Kind::NotDigit; return true;
      case 'w': item.kind = ClassItem::Kind::Word; return true;
      case 'W': item.kind = ClassItem::Kind::NotWord; return true;
      case 'p':
      case 'P': {
        if (!peek_is('{')) fail("expected '{' after \\p");
        ++pos_;
        std::u32string name;
        while (!done() && !peek_is('}')) name.push_back(take());
        if (!peek_is('}')) fail("unterminated \\p{...}");
        ++pos_;
        item.mask = property_mask(name);
        if (item.mask == 0) fail("unknown Unicode property");
        item.kind = c == 'p' ? ClassItem::Kind::Category : ClassItem::Kind::NotCategory;
        return true;
      }
      case 'r': cp = '\r'; return false;
      case 'n': cp = '\n'; return false;
      case 't': cp = '\t'; return false;
      case 'f': cp = '\f'; return false;
      case 'v': cp = '\v'; return false;
      case '0': cp = 0; return false;
      case 'x':
        if (peek_is('{')) {
          ++pos_;
          uint32_t v = 0;
          size_t n = 0;
          while (!peek_is('}')) {
            v = v * 16 + parse_hex(1);
            if (++n > 6) fail("\\x{...} too long");
          }
          ++pos_;
          if (n == 0) fail("empty \\x{}");
          cp = v;
        } else {
          cp = parse_hex(2);
        }
        return false;
      case 'u': cp = parse_hex(4); return false;
      default:
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
          --pos_;
          fail("unsupported escape");
        }
        cp = c;  // escaped punctuation stands for itself
        return false;
    }
  }

  std::unique_ptr<Node> parse_class(bool icase) {
    CharClass cls;
    cls.case_insensitive = icase;
    if (peek_is('^')) {
      ++pos_;
      cls.negated = true;
    }
    for (;;) {
      if (done()) fail("missing ']'");
      if (peek_is(']')) {
        ++pos_;
        break;
      }
      // One class atom: a character, or a class escape that cannot start a range.
      ClassItem item;
      uint32_t lo = take();
      bool is_class_escape = false;
      if (lo == '\\') is_class_escape = parse_escape(item, lo);
      if (is_class_escape) {
        cls.items.push_back(item);
        continue;
      }
      if (peek_is('-') && pos_ + 1 < cps_.size() && !peek_is(']', 1)) {
        ++pos_;  // '-'
        uint32_t hi = take();
        if (hi == '\\') {
          ClassItem other;
          if (parse_escape(other, hi)) fail("class escape as a range bound");
        }
        if (hi < lo) fail("range out of order");
        cls.items.push_back({ClassItem::Kind::Range, lo, hi, 0});
      } else {
        cls.items.push_back({ClassItem::Kind::Range, lo, lo, 0});
      }
    }
    return class_node(std::move(cls));
  }

  std::vector<CharClass>& classes_;
  std::vector<uint32_t> cps_;
  std::vector<size_t> offsets_;
  size_t pos_ = 0;
};

// ---- code generation ----

class Emitter {
 public:
  explicit Emitter(Regex::Program& prog) : prog_(prog) {}

  void emit_program(const Node& root) {
    emit(root, 0);
    add({Op::Match});
    // Lookaround bodies go after the main program, each ending in its own Match.
    while (!pending_.empty()) {
      auto [node, look_pc, depth] = pending_.back();
      pending_.pop_back();
      prog_.code[look_pc].a = static_cast<uint32_t>(prog_.code.size());
      prog_.look_depth = std::max(prog_.look_depth, depth);
      emit(*node, depth);
      add({Op::Match});
    }
  }

 private:
  uint32_t add(Inst inst) {
    if (prog_.code.size() >= kMaxProgramSize) throw PatternError("regex: program too large after expanding repeats");
    prog_.code.push_back(inst);
    return static_cast<uint32_t>(prog_.code.size() - 1);
  }
  uint32_t here() const { return static_cast<uint32_t>(prog_.code.size()); }

  void emit(const Node& n, size_t depth) {
    switch (n.kind) {
      case Node::Kind::Empty: break;
      case Node::Kind::Char: add({Op::Char, false, n.value, 0}); break;
      case Node::Kind::Class: add({Op::Class, false, n.value, 0}); break;
      case Node::Kind::Any: add({Op::Any}); break;
      case Node::Kind::Begin: add({Op::Begin}); break;
      case Node::Kind::End: add({Op::End}); break;
      case Node::Kind::Concat:
        for (const auto& c : n.children) emit(*c, depth);
        break;
      case Node::Kind::Alt: {
        std::vector<uint32_t> jumps;
        for (size_t i = 0; i < n.children.size(); ++i) {
          if (i + 1 < n.children.size()) {
            const uint32_t split = add({Op::Split});
            prog_.code[split].a = here();
            emit(*n.children[i], depth);
            jumps.push_back(add({Op::Jmp}));
            prog_.code[split].b = here();
          } else {
            emit(*n.children[i], depth);
          }
        }
        for (uint32_t j : jumps) prog_.code[j].a = here();
        break;
      }
      case Node::Kind::Repeat: emit_repeat(n, depth); break;
      case Node::Kind::Look: {
        const uint32_t pc = add({Op::Look, n.negate, 0, 0});
        pending_.push_back({n.children.front().get(), pc, depth + 1});
        break;
      }
    }
  }

  // A split that prefers `first` when greedy, the other branch when lazy.
  void patch_split(uint32_t split, uint32_t body, uint32_t exit, bool greedy) {
    prog_.code[split].a = greedy ? body : exit;
    prog_.code[split].b = greedy ? exit : body;
  }

  void emit_repeat(const Node& n, size_t depth) {
    const Node& body = *n.children.front();
    for (uint32_t i = 0; i < n.min; ++i) emit(body, depth);
    if (n.max == kInfinite) {
      const uint32_t split = add({Op::Split});
      const uint32_t body_pc = here();
      emit(body, depth);
      add({Op::Jmp, false, split, 0});
      patch_split(split, body_pc, here(), n.greedy);
      return;
    }
    // x{0,k} as k nested optionals that all exit to the same place.
    std::vector<uint32_t> splits;
    for (uint32_t i = n.min; i < n.max; ++i) {
      splits.push_back(add({Op::Split}));
      prog_.code[splits.back()].a = here();
      emit(body, depth);
    }
    for (uint32_t s : splits) patch_split(s, s + 1, here(), n.greedy);
  }

  struct Pending {
    const Node* node;
    uint32_t look_pc;
    size_t depth;
  };
  Regex::Program& prog_;
  std::vector<Pending> pending_;
};

// ---- matching ----

// One bit per (instruction, position) state, positions counted from a base.
class VisitedStates {
 public:
  // Forgets every state and makes room for positions base..subject_size at once,
  // so a long match does not grow (and copy) the bit set step by step.
  void reset(size_t program_size, size_t base, size_t subject_size) {
    std::fill(bits_.begin(), bits_.begin() + static_cast<std::ptrdiff_t>(used_words_), 0);
    used_words_ = 0;
    program_size_ = program_size;
    base_ = base;
    const size_t needed_words = ((subject_size - base + 1) * program_size + 63) / 64;
    if (bits_.size() < needed_words) bits_.resize(needed_words, 0);
  }
  // True when the state was new.
  bool mark(uint32_t pc, size_t pos) {
    const size_t index = (pos - base_) * program_size_ + pc;
    const size_t word = index >> 6;
    if (word >= bits_.size()) bits_.resize(std::max(bits_.size() * 2, word + 1), 0);
    used_words_ = std::max(used_words_, word + 1);
    const uint64_t bit = uint64_t{1} << (index & 63);
    if (bits_[word] & bit) return false;
    bits_[word] |= bit;
    return true;
  }

 private:
  std::vector<uint64_t> bits_;
  size_t used_words_ = 0;
  size_t program_size_ = 0;
  size_t base_ = 0;
};

struct Frame {
  uint32_t pc;
  size_t pos;
};

}  // namespace

class Searcher::Matcher {
 public:
  explicit Matcher(const Regex::Program& prog)
      : prog_(prog), visited_(prog.look_depth + 1), stacks_(prog.look_depth + 1) {}

  void set_subject(std::span<const Unit> subject) { subject_ = subject; }

  std::optional<Match> search(size_t from) {
    visited_[0].reset(prog_.code.size(), from, subject_.size());
    for (size_t start = from; start <= subject_.size(); ++start) {
      if (auto end = run(0, start, 0, kNoReject)) return Match{start, *end};
    }
    return std::nullopt;
  }

  // A non-empty match that starts exactly at `at`.
  std::optional<Match> match_nonempty_at(size_t at) {
    visited_[0].reset(prog_.code.size(), at, subject_.size());
    if (auto end = run(0, at, 0, at)) return Match{at, *end};
    return std::nullopt;
  }

 private:
  static constexpr size_t kNoReject = std::numeric_limits<size_t>::max();

  // Backtracking from (pc, pos) in priority order; returns where Match was reached.
  std::optional<size_t> run(uint32_t pc0, size_t pos0, size_t depth, size_t reject_end) {
    auto& stack = stacks_[depth];
    auto& visited = visited_[depth];
    stack.clear();
    stack.push_back({pc0, pos0});
    const size_t n = subject_.size();
    while (!stack.empty()) {
      auto [pc, pos] = stack.back();
      stack.pop_back();
      for (;;) {
        if (!visited.mark(pc, pos)) break;
        const Inst& in = prog_.code[pc];
        bool ok = false;
        switch (in.op) {
          case Op::Char:
            ok = pos < n && subject_[pos].symbol == in.a;
            if (ok) ++pos;
            break;
          case Op::Class:
            ok = pos < n && class_matches(prog_.classes[in.a], subject_[pos]);
            if (ok) ++pos;
            break;
          case Op::Any: {
            ok = pos < n;
            if (ok) {
              const uint32_t s = subject_[pos].symbol;
              ok = s != '\n' && s != '\r' && s != 0x2028 && s != 0x2029;
            }
            if (ok) ++pos;
            break;
          }
          case Op::Split:
            stack.push_back({in.b, pos});
            pc = in.a;
            continue;
          case Op::Jmp:
            pc = in.a;
            continue;
          case Op::Begin: ok = pos == 0; break;
          case Op::End: ok = pos == n; break;
          case Op::Look: {
            visited_[depth + 1].reset(prog_.code.size(), pos, subject_.size());
            const bool matched = run(in.a, pos, depth + 1, kNoReject).has_value();
            ok = matched != in.negate;
            break;
          }
          case Op::Match:
            if (pos == reject_end) break;
            stack.clear();
            return pos;
        }
        if (!ok) break;
        ++pc;
      }
    }
    return std::nullopt;
  }

  const Regex::Program& prog_;
  std::span<const Unit> subject_;
  std::vector<VisitedStates> visited_;
  std::vector<std::vector<Frame>> stacks_;
};

Regex Regex::compile(std::string_view pattern) {
  auto prog = std::make_unique<Program>();
  prog->pattern = std::string(pattern);
  Parser parser(pattern, prog->classes);
  const auto root = parser.parse();
  Emitter(*prog).emit_program(*root);
  return Regex(std::move(prog));
}

Regex::Regex(std::unique_ptr<Program> program) : program_(std::move(program)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

const std::string& Regex::pattern() const { return program_->pattern; }
size_t Regex::program_size() const { return program_->code.size(); }

std::optional<Match> Regex::find(std::span<const Unit> subject, size_t from) const {
  return Searcher(*this).find(subject, from);
}

std::vector<Match> Regex::find_all(std::span<const Unit> subject) const { return Searcher(*this).find_all(subject); }

Searcher::Searcher(const Regex& regex) : matcher_(std::make_unique<Matcher>(*regex.program_)) {}
Searcher::Searcher(Searcher&&) noexcept = default;
Searcher::~Searcher() = default;

std::optional<Match> Searcher::find(std::span<const Unit> subject, size_t from) {
  if (from > subject.size()) return std::nullopt;
  matcher_->set_subject(subject);
  return matcher_->search(from);
}

std::vector<Match> Searcher::find_all(std::span<const Unit> subject) {
  std::vector<Match> matches;
  matcher_->set_subject(subject);
  size_t pos = 0;
  while (pos <= subject.size()) {
    auto m = matcher_->search(pos);
    if (!m) break;
    matches.push_back(*m);
    if (m->end > m->begin) {
      pos = m->end;
      continue;
    }
    // After an empty match, std::regex_iterator first looks for a non-empty
    // match at the same place, then moves on by one.
    if (auto again = matcher_->match_nonempty_at(m->end)) {
      matches.push_back(*again);
      pos = again->end;
    } else {
      pos = m->end + 1;
    }
  }
  return matches;
}

}  // namespace ridge::tokenizer::unicode_regex
