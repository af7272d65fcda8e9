#pragma once
// The sampler's seeded random number generator: xoshiro256** seeded through
// splitmix64. Written out here rather than using <random> distributions
// because those are implementation-defined; this one gives the same stream on
// every compiler, library and CPU, so a seed reproduces a generation anywhere.
#include <cstdint>

namespace ridge::sampling {

class SeededRng {
 public:
  explicit SeededRng(uint64_t seed) { reseed(seed); }

  void reseed(uint64_t seed) {
    // splitmix64 spreads any seed (0 included) over the 256-bit state, which
    // xoshiro requires to be non-zero.
    uint64_t x = seed;
    for (uint64_t& word : state_) {
      x += 0x9E3779B97F4A7C15ull;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      word = z ^ (z >> 31);
    }
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1): the top 53 bits scaled exactly into a double.
  double next_unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace ridge::sampling
