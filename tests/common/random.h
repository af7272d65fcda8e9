#pragma once
// Seeded random inputs for kernel and numeric tests (same seed, same values).
#include <cstdint>
#include <random>
#include <vector>

namespace ridge::test {

inline std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

}  // namespace ridge::test
