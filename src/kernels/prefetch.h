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

}  // namespace ridge::kernels::isa
