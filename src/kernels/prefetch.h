#pragma once
// Touching the weight stream's pages ahead of the matmul kernels (packed and
// unpacked) and the bandwidth probe's read loop.
#include <cstdint>

namespace ridge::kernels::isa {

// How far ahead of its reads a matmul kernel touches the weights, in bytes
// (prefetch_pages_ahead).
constexpr int64_t kPrefetchAhead = 16384;

// Called by a kernel about to read [p, p + bytes): touches (asks for one line
// of) each 4 KiB page that starts within that range moved kPrefetchAhead
// bytes on. A kernel reading consecutive ranges so touches every page of its
// stream once, a few pages before it gets there.
//
// Why: decode streams every weight once, and the hardware prefetchers stop at
// 4 KiB pages. In a virtual machine whose host maps guest memory in 4 KiB
// pages, each new page of the stream waits for a (nested) page walk and a
// cold start, however large the guest's pages; a touch a few pages early
// takes both off the critical path. Measured in-process (same model, variants
// alternated token by token, 50-60 rounds, Q4_0 TinyLlama shape): +37%
// decode against no touch, +11% against one touch per 2.3 KiB, flat for
// distances of 4-96 KiB, while a touch per line, or two per 576 bytes, lost
// 8-20%. With ridge bench, alternating binaries: tg128 Q4_0 +38%, Q8_0
// +11%, Q4_K +14%, Q5_K (row kernels) +34% (docs/performance.md, session 6).
// Past a thread's last rows the touches land on the next rows or the next
// matrix: harmless.
//
// Internal linkage, so that code compiled for one instruction set never
// shares an inline copy with other files (see isa_kernels.h).
static inline void prefetch_pages_ahead(const uint8_t* p, int64_t bytes) {
  constexpr uintptr_t kPage = 4096;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(kPrefetchAhead);
  for (uintptr_t q = (a + kPage - 1) & ~(kPage - 1); q < a + static_cast<uintptr_t>(bytes); q += kPage)
    __builtin_prefetch(reinterpret_cast<const void*>(q), 0, 3);
}

// How far ahead of its reads a decode kernel asks for each line of the
// weight stream (prefetch_lines), in bytes.
constexpr int64_t kLinesAhead = 6144;

// The instruction a decode kernel asks for lines with (prefetch_lines).
// Values of cpu_features.h's LinePrefetch, as plain ints so that code
// compiled for one instruction set can read them (isa_kernels.h).
constexpr int kLinesNone = 0, kLinesNta = 1, kLinesT0 = 2, kLinesT1 = 3;

// The hint for this process, set once before any kernel runs
// (cpu_features.cpp: from the CPU's vendor, or RIDGE_PREFETCH):
// g_lines_hint for the decode streams, g_lines_hint_light for the one with
// the least arithmetic per byte (the AVX-512 Q8_0 tile).
extern int g_lines_hint;
extern int g_lines_hint_light;

// Whether the AVX-512 packed tiles load a 64-byte line of weights at once (1)
// or as two 32-byte halves (0; faster on Zen 5): see load_line in
// repack_avx512_helpers.h. Set once from the CPU's vendor, or
// RIDGE_LOAD_BYTES=32|64 (cpu_features.cpp).
extern int g_whole_line_loads;

// Asks for every line of [p, p + bytes) moved kLinesAhead bytes on, with
// `hint`.
//
// Why: with the hardware prefetchers alone, the decode kernels read their
// streams well below the bandwidth roofline, and which request helps depends
// on the CPU. On Zen 5 (tg128, 2 threads, alternating binaries) PREFETCHNTA
// took the AVX-512 Q4_0 tile from 75% to 83% of the roofline (+8% at 4-6
// KiB ahead, +5% at 8 KiB, -2.5% at 1 KiB; PREFETCHT0 +6%, PREFETCHT1
// +2.5%), the AVX2 tiles too (Q4_0 +14%, Q8_0 +10%) and the packed K-quant
// tiles most (tg64: AVX-512 Q4_K +5%, Q6_K +11%; AVX2 Q4_K +40%, Q6_K
// 2.45x), while the AVX-512 Q8_0 tile became 10-27% slower (T0 -12%, T1
// -45%). On an Intel Xeon with AMX (family 6 model 167, 2 vCPUs; same
// binary, the hint switched, tg64, 2 threads) PREFETCHNTA made every decode
// stream far slower (Q4_0 0.61x, Q4_K and Q6_K below the hardware
// prefetchers alone: 0.61x, 0.58x of it), and PREFETCHT1 the fastest: Q4_0
// +26%, Q8_0 +7.5% (the AVX-512 tile included), Q4_K +18%, Q6_K +24%
// against none (T0: +14.5%, +4.5%, +8%, +24%); flat from 4 to 12 KiB ahead,
// -6% at 2 KiB.
//
// The instructions are inline assembly: GCC deletes a loop whose body is
// only __builtin_prefetch calls unless it unrolls it completely first.
static inline void prefetch_lines(const uint8_t* p, int64_t bytes, int hint) {
  const uint8_t* q = p + kLinesAhead;
  switch (hint) {
    case kLinesNta:
      for (int64_t i = 0; i < bytes; i += 64) __asm__ volatile("prefetchnta %0" : : "m"(q[i]));
      break;
    case kLinesT0:
      for (int64_t i = 0; i < bytes; i += 64) __asm__ volatile("prefetcht0 %0" : : "m"(q[i]));
      break;
    case kLinesT1:
      for (int64_t i = 0; i < bytes; i += 64) __asm__ volatile("prefetcht1 %0" : : "m"(q[i]));
      break;
    default:
      break;
  }
}

// The decode streams' requests (g_lines_hint).
static inline void prefetch_lines(const uint8_t* p, int64_t bytes) { prefetch_lines(p, bytes, g_lines_hint); }

// Part `part` of `parts` of prefetch_lines(p, bytes), for a kernel that asks
// for a long record's lines a part at a time as it works through it: on the
// Intel Xeon, the 37 requests for a whole Q4_K record (2368 bytes) at once
// stalled the tile on the instruction after them (half its samples; every
// line fill buffer taken), while the Q4_0 tile's 9 per 576-byte pair did not.
static inline void prefetch_lines_part(const uint8_t* p, int64_t bytes, int part, int parts, int hint = g_lines_hint) {
  const int64_t lines = (bytes + 63) / 64, first = part * lines / parts, last = (part + 1) * lines / parts;
  prefetch_lines(p + 64 * first, 64 * (last - first), hint);
}

}  // namespace ridge::kernels::isa
