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
// weight stream (prefetch_lines_nta), in bytes.
constexpr int64_t kLinesAhead = 6144;

// Asks for every line of [p, p + bytes) moved kLinesAhead bytes on, as
// non-temporal data (PREFETCHNTA: into L1, kept out of the outer levels as
// far as the CPU allows).
//
// Why: with the hardware prefetchers alone, the Q4_0 decode tile (AVX-512)
// read its stream at 75% of the bandwidth roofline; these requests, a few
// KiB ahead, took it to 83% (TinyLlama shape, tg128, 2 threads; alternating
// binaries: +8% at 4-6 KiB ahead, +5% at 8 KiB, -2.5% at 1 KiB; PREFETCHT0
// +6%, PREFETCHT1 +2.5%). The AVX2 tiles gain too (Q4_0 +14%, Q8_0 +10%),
// and the packed K-quant tiles most (tg64: AVX-512 Q4_K +5%, Q6_K +11%;
// AVX2 Q4_K +40%, Q6_K 2.45x). Not every kernel does: the AVX-512 Q8_0
// tile, with the least arithmetic per byte, became 10-27% slower (T0 -12%,
// T1 -45%; one request per 128 or 512 bytes: -14%, -3%), its stream
// already kept up by the hardware, so it does without.
static inline void prefetch_lines_nta(const uint8_t* p, int64_t bytes) {
  for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch(p + kLinesAhead + i, 0, 0);
}

}  // namespace ridge::kernels::isa
