#pragma once
// Open-addressing hash indexes for the vocabulary: token text -> id and
// (left id, right id) -> BPE merge. Large vocabularies (128k tokens, 280k
// merges) are indexed at every model load and probed for every symbol while
// encoding, so both tables keep their entries inline (no per-entry
// allocation) and store hash bits to skip most string comparisons.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::tokenizer {

// Maps the texts of a token list to their ids. Holds no copy of the texts:
// lookups compare against the list passed to each call, which must be the one
// the index was built from.
class TextIndex {
 public:
  // Indexes `texts`; returns the first id whose text repeats an earlier one
  // (that id is not indexed), or -1 when all are distinct.
  int32_t build(const std::vector<std::string>& texts) {
    size_t cap = 16;
    while (cap < texts.size() * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    int32_t first_duplicate = -1;
    for (size_t id = 0; id < texts.size(); ++id) {
      const uint64_t h = hash(texts[id]);
      size_t i = h & mask_;
      bool duplicate = false;
      while (slots_[i].id >= 0) {
        if (slots_[i].tag == tag_of(h) && texts[slots_[i].id] == texts[id]) {
          duplicate = true;
          break;
        }
        i = (i + 1) & mask_;
      }
      if (duplicate) {
        if (first_duplicate < 0) first_duplicate = static_cast<int32_t>(id);
        continue;
      }
      slots_[i] = {static_cast<int32_t>(id), tag_of(h)};
    }
    return first_duplicate;
  }

  int32_t find(const std::vector<std::string>& texts, std::string_view text) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash(text);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag_of(h) && texts[s.id] == text) return s.id;
    }
  }

 private:
  struct Slot {
    int32_t id = -1;
    uint32_t tag = 0;  // high hash bits, compared before the text
  };
  static uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32); }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// Maps a pair of token ids to a value; the first insertion of a pair wins.
template <typename Value>
class PairIndex {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    if (cap > slots_.size()) rehash(cap);
  }

  void insert(int32_t a, int32_t b, const Value& v) {
    if ((count_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    const uint64_t key = pack(a, b);
    size_t i = mix(key) & mask_;
    while (slots_[i].used) {
      if (slots_[i].key == key) return;
      i = (i + 1) & mask_;
    }
    slots_[i] = {key, v, true};
    ++count_;
  }

  const Value* find(int32_t a, int32_t b) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pack(a, b);
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }

 private:
  struct Slot {
    uint64_t key = 0;
    Value value{};
    bool used = false;
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  // A 64-bit finaliser (from MurmurHash3) so neighbouring id pairs spread over the table.
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
  }
  void rehash(size_t cap) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    count_ = 0;
    for (const Slot& s : old)
      if (s.used) insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.value);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace ridge::tokenizer
