// The roofline loops of `ridge bench` compute what they claim: the AVX2
// streaming-read sum equals the plain sum of the words (so the reads it times
// are all real), and the measured figures are positive and finite.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "model/bench_peak.h"
#include "kernels/thread_pool.h"
#include "model/roofline.h"

namespace ridge::model {
namespace {

TEST(Roofline, Avx2ReadSumEqualsThePlainSum) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937_64 rng(7);
  for (size_t words : {size_t{0}, size_t{32}, size_t{64}, size_t{32 * 37}}) {
    // Offset by one word: the loop must not assume 32-byte alignment.
    std::vector<uint64_t> buf(words + 1);
    for (auto& w : buf) w = rng();
    uint64_t expect = 0;
    for (size_t i = 1; i <= words; ++i) expect += buf[i];
    // Every request for lines ahead (the probe tries each), none included.
    for (int hint = 0; hint <= 3; ++hint) {
      EXPECT_EQ(read_sum_avx2(buf.data() + 1, buf.data() + 1 + words, hint), expect) << words << " words, hint " << hint;
      if (__builtin_cpu_supports("avx512f")) {
        EXPECT_EQ(read_sum_avx512(buf.data() + 1, buf.data() + 1 + words, hint), expect)
            << words << " words, hint " << hint << " (64-byte loads)";
      }
    }
  }
}

TEST(Roofline, MeasurementsArePositiveAndFinite) {
  const ReadBandwidth bw = measure_read_bandwidth(uint64_t{8} << 20, 2, 2);
  EXPECT_GT(bw.bytes_per_s, 0);
  EXPECT_TRUE(std::isfinite(bw.bytes_per_s));
  EXPECT_EQ(bw.buffer_bytes, uint64_t{8} << 20);
  EXPECT_THROW(measure_read_bandwidth(1000, 2, 2), std::invalid_argument);
}

TEST(Roofline, ProbeMeasuresRepeatedlyOnOneBuffer) {
  const ReadBandwidthProbe probe(uint64_t{8} << 20, 2);
  for (int i = 0; i < 3; ++i) {
    const ReadBandwidth bw = probe.measure(2);
    EXPECT_GT(bw.bytes_per_s, 0);
    EXPECT_TRUE(std::isfinite(bw.bytes_per_s));
    EXPECT_EQ(bw.buffer_bytes, uint64_t{8} << 20);
    EXPECT_EQ(bw.threads, 2);
    EXPECT_EQ(bw.line_prefetch, probe.line_prefetch());  // the one the constructor chose
    EXPECT_EQ(bw.load_bytes, probe.load_bytes());
    EXPECT_TRUE(bw.load_bytes == 8 || bw.load_bytes == 32 || bw.load_bytes == 64) << bw.load_bytes;
  }
  EXPECT_THROW(probe.measure(0), std::invalid_argument);
  EXPECT_THROW(ReadBandwidthProbe(1000, 2), std::invalid_argument);
  EXPECT_THROW(ReadBandwidthProbe(uint64_t{8} << 20, 0), std::invalid_argument);
}

TEST(Roofline, ProbeMeasuresOnAPoolOfAsManyThreads) {
  const ReadBandwidthProbe probe(uint64_t{8} << 20, 2);
  kernels::ThreadPool pool(2), wrong(3);
  for (bool warm : {true, false}) {
    const ReadBandwidth bw = probe.measure(2, warm, pool);
    EXPECT_GT(bw.bytes_per_s, 0);
    EXPECT_TRUE(std::isfinite(bw.bytes_per_s));
    EXPECT_EQ(bw.passes, 2);
    EXPECT_EQ(bw.threads, 2);
  }
  EXPECT_THROW(probe.measure(0, true, pool), std::invalid_argument);
  EXPECT_THROW(probe.measure(1, true, wrong), std::invalid_argument);
}

}  // namespace
}  // namespace ridge::model
