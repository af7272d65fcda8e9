#include "kernels/repack.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/huge_pages.h"
#include "kernels/ops.h"
#include "kernels/repack_kernels.h"
#include "kernels/repack_kquant.h"
#include "kernels/thread_pool.h"

namespace ridge::kernels {

namespace {

constexpr size_t kAlign = 64;
// From linux/mman.h (5.14+); older kernels reject it with EINVAL, which is harmless here.
constexpr int kMadvPopulateRead = 22;

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Byte layout of one source block: where the f16 scale and the 32 levels sit.
struct SourceBlock {
  size_t bytes;
  size_t levels_at;
  bool nibbles;  // Q4_0: 16 bytes of two nibbles; Q8_0: 32 signed bytes
};

SourceBlock source_block(GgmlType type) {
  if (type == GgmlType::Q4_0) return {18, 2, true};
  return {34, 2, false};
}

// Four rows' 16-byte runs of levels (4 groups of 4 bytes each) to the four
// 16-byte runs "group g of rows i..i+3" at out + 64 * g: a 4x4 transpose of
// 32-bit elements.
#if defined(__SSE2__)
void transpose_quad(const __m128i in[4], uint8_t* out) {
  const __m128i t0 = _mm_unpacklo_epi32(in[0], in[1]), t1 = _mm_unpacklo_epi32(in[2], in[3]);
  const __m128i t2 = _mm_unpackhi_epi32(in[0], in[1]), t3 = _mm_unpackhi_epi32(in[2], in[3]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_unpacklo_epi64(t0, t1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 64), _mm_unpackhi_epi64(t0, t1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 128), _mm_unpacklo_epi64(t2, t3));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 192), _mm_unpackhi_epi64(t2, t3));
}
#endif

// Block-major: the 16 source rows (from `first_row` on, `row_bytes` apart) are
// read in step and each packed block is written in one sequential pass.
void pack_panel(const uint8_t* first_row, size_t row_bytes, int64_t n_rows, const SourceBlock& src,
                const PackedWeights& pw, int64_t panel) {
  const int level_bytes = src.nibbles ? 16 : 32;  // per row per block; 16 per transposed run
  const size_t pair_bytes = packed_pair_bytes(pw.block_bytes);
  auto* levels = const_cast<uint8_t*>(pw.levels);
  // n_rows < 16 only in the last panel: the rest stays zero.
  const uint8_t* rows[kPanelRows];
  for (int64_t i = 0; i < n_rows; ++i) rows[i] = first_row + static_cast<size_t>(i) * row_bytes;
  // Q8_0's signed levels become unsigned (q + 128) for the u8 x s8 product.
  const uint8_t flip = src.nibbles ? 0 : 0x80;
  // Sixteen interleaved streams defeat the hardware prefetcher: without a hint
  // each block waits on memory.
  constexpr int64_t kPrefetchBlocks = 16;
  for (int64_t b = 0; b < pw.blocks; ++b) {
    const int64_t c = b / pw.chunk_blocks, in_chunk = b - c * pw.chunk_blocks;
    uint8_t* pair = levels + isa::packed_chunk_offset(pw.panels, pw.blocks, pw.chunk_blocks,
                                                      static_cast<int64_t>(pair_bytes), panel, c) +
                    static_cast<size_t>(in_chunk / 2) * pair_bytes;
    uint8_t* dst = pair + static_cast<size_t>(b % 2) * pw.block_bytes;
    uint8_t* scales = pair + 2 * pw.block_bytes + static_cast<size_t>(b % 2) * kPanelRows * 2;
    const size_t at = static_cast<size_t>(b) * src.bytes;
    for (int64_t i = 0; i < n_rows; ++i) {
      if (b + kPrefetchBlocks < pw.blocks) __builtin_prefetch(rows[i] + at + kPrefetchBlocks * src.bytes);
      std::memcpy(scales + 2 * i, rows[i] + at, 2);
    }
    for (int run = 0; run < level_bytes / 16; ++run) {      // groups 4 * run .. 4 * run + 3
      for (int64_t quad = 0; quad * 4 < n_rows; ++quad) {   // rows 4 * quad .. 4 * quad + 3
        uint8_t* out = dst + run * 256 + quad * 16;
#if defined(__SSE2__)
        __m128i in[4];
        for (int k = 0; k < 4; ++k) {
          const int64_t i = quad * 4 + k;
          in[k] = i < n_rows ? _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
                                                 rows[i] + at + src.levels_at + 16 * run)),
                                             _mm_set1_epi8(static_cast<char>(flip)))
                             : _mm_setzero_si128();
        }
        transpose_quad(in, out);
#else
        for (int k = 0; k < 4 && quad * 4 + k < n_rows; ++k)
          for (int g = 0; g < 4; ++g)
            for (int e = 0; e < 4; ++e)
              out[64 * g + 4 * k + e] = rows[quad * 4 + k][at + src.levels_at + 16 * run + 4 * g + e] ^ flip;
#endif
      }
    }
  }
}

// Prefaults the source rows in one call (they are usually a file mapping).
void populate_source(const WeightMatrix& w) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(w.data) / page * page;
  const uintptr_t end = reinterpret_cast<uintptr_t>(w.data) + w.row_bytes * static_cast<uintptr_t>(w.rows);
  ::madvise(reinterpret_cast<void*>(begin), end - begin, kMadvPopulateRead);  // advisory, as above
}

void check_packable(const WeightMatrix& w) {
  const std::string what = std::string("packing ") + std::string(ggml_type_name(w.type)) + " weights";
  if (!can_pack(w.type)) throw std::invalid_argument(what + ": the type has no packed layout");
  const int64_t block = is_packed_kquant(w.type) ? 256 : 32;
  if (w.cols <= 0 || w.rows <= 0 || w.cols % block != 0)
    throw std::invalid_argument(what + ": " + std::to_string(w.rows) + " x " + std::to_string(w.cols) +
                                " is not a non-empty matrix of whole blocks of " + std::to_string(block));
  if (w.row_bytes < ggml_row_bytes(w.type, w.cols))
    throw std::invalid_argument(what + ": row_bytes " + std::to_string(w.row_bytes) + " is smaller than a row of " +
                                std::to_string(w.cols) + " elements");
}

// The shape of w's packed copy and the bytes of its arrays (not yet placed).
PackedWeights packed_shape(const WeightMatrix& w) {
  PackedWeights pw;
  pw.type = w.type;
  pw.rows = w.rows;
  pw.cols = w.cols;
  pw.panels = (w.rows + kPanelRows - 1) / kPanelRows;
  pw.blocks = w.cols / 32;
  pw.block_bytes = source_block(w.type).nibbles ? 256 : 512;
  if (is_packed_kquant(w.type)) {  // one record per (panel, super-block), no separate scales
    pw.blocks = w.cols / 256;
    pw.block_bytes = packed_kquant_block_bytes(w.type);
    pw.storage_bytes = static_cast<size_t>(pw.panels * pw.blocks) * pw.block_bytes;
    return pw;
  }
  // About 18 KiB of a panel per chunk, an even number of blocks (whole pairs).
  const int64_t chunk = source_block(w.type).nibbles ? 64 : 32;
  pw.chunk_blocks = pw.blocks <= chunk ? pw.blocks : chunk;
  pw.storage_bytes = static_cast<size_t>(pw.panels * ((pw.blocks + 1) / 2)) * packed_pair_bytes(pw.block_bytes);
  return pw;
}

// One work item of the fan-out: panels [first, last) of matrix `m`. Runs of
// about kUnitSourceBytes of source rows: small enough that a run read through
// a SourceReader stays in the core's L2 while it is packed, large enough that
// the hand-out and the read calls cost nothing.
struct PanelRun {
  size_t m;
  int64_t first, last;
};
constexpr size_t kUnitSourceBytes = size_t{256} << 10;

}  // namespace

bool can_pack(GgmlType type) { return type == GgmlType::Q4_0 || type == GgmlType::Q8_0 || is_packed_kquant(type); }

bool packed_matmul_supported(GgmlType type, KernelPath path) {
  if (!can_pack(type)) return false;
  return path == KernelPath::Avx512 || path == KernelPath::Avx2;
}

std::unique_ptr<PackedWeights> pack_weights(const WeightMatrix& w, ThreadPool* pool) {
  return std::move(pack_weights_all({&w}, pool).front());
}

std::vector<std::unique_ptr<PackedWeights>> pack_weights_all(const std::vector<const WeightMatrix*>& ws,
                                                             ThreadPool* pool, const SourceReader* read) {
  std::vector<std::unique_ptr<PackedWeights>> out;
  if (ws.empty()) return out;
  // Each matrix's arrays start on a page of their own in the one mapping.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<size_t> at(ws.size());
  size_t total = 0;
  for (size_t m = 0; m < ws.size(); ++m) {
    check_packable(*ws[m]);
    out.push_back(std::make_unique<PackedWeights>(packed_shape(*ws[m])));
    at[m] = total;
    total += round_up(out[m]->storage_bytes, page);
  }
  // Huge pages: the GEMM streams the weights, and packing faults every page in.
  const std::shared_ptr<const uint8_t> storage = allocate_huge_pages(total);
  uint8_t* base = const_cast<uint8_t*>(storage.get());
  // A fresh anonymous mapping reads as zeros: the padding rows of every last panel stay exact zeros.
  std::vector<PanelRun> runs;
  size_t max_run_bytes = 0;
  for (size_t m = 0; m < ws.size(); ++m) {
    PackedWeights& pw = *out[m];
    pw.storage = storage;
    pw.levels = base + at[m];
    const size_t panel_bytes = ws[m]->row_bytes * kPanelRows;
    const int64_t per_run = std::max<int64_t>(1, static_cast<int64_t>(kUnitSourceBytes / panel_bytes));
    for (int64_t p = 0; p < pw.panels; p += per_run) runs.push_back({m, p, std::min(pw.panels, p + per_run)});
    max_run_bytes = std::max(max_run_bytes, static_cast<size_t>(per_run) * panel_bytes);
    if (read == nullptr) populate_source(*ws[m]);
  }
  // Per-thread buffers for runs read through `read`.
  const int n_threads = pool != nullptr ? pool->size() : 1;
  std::vector<std::unique_ptr<uint8_t[]>> buffers(read != nullptr ? n_threads : 0);
  for (auto& b : buffers) b.reset(new uint8_t[max_run_bytes]);
  auto pack_runs = [&](int64_t r0, int64_t r1, int thread) {
    for (int64_t r = r0; r < r1; ++r) {
      const PanelRun& run = runs[static_cast<size_t>(r)];
      const WeightMatrix& w = *ws[run.m];
      const SourceBlock src = source_block(w.type);
      const int64_t row0 = run.first * kPanelRows, row1 = std::min(w.rows, run.last * kPanelRows);
      const uint8_t* rows = w.data + static_cast<size_t>(row0) * w.row_bytes;
      if (read != nullptr) {
        uint8_t* buf = buffers[static_cast<size_t>(thread)].get();
        (*read)(rows, static_cast<size_t>(row1 - row0) * w.row_bytes, buf);
        rows = buf;
      }
      for (int64_t p = run.first; p < run.last; ++p) {
        const int64_t n_rows = std::min(kPanelRows, w.rows - p * kPanelRows);
        const uint8_t* first = rows + static_cast<size_t>((p - run.first) * kPanelRows) * w.row_bytes;
        if (is_packed_kquant(w.type)) pack_kquant_panel(first, w.row_bytes, n_rows, *out[run.m], p);
        else pack_panel(first, w.row_bytes, n_rows, src, *out[run.m], p);
      }
    }
  };
  if (pool != nullptr) pool->parallel_for(static_cast<int64_t>(runs.size()), 1, pack_runs);
  else pack_runs(0, static_cast<int64_t>(runs.size()), 0);
  return out;
}

namespace isa {

bool packed_activation_scratch(size_t bytes, uint64_t id, int layout, uint8_t** buffer) {
  struct Scratch {
    std::vector<uint8_t> bytes;
    uint64_t id = 0;
    int layout = 0;
    size_t size = 0;
  };
  static thread_local Scratch s;
  const bool holds = id != 0 && s.id == id && s.layout == layout && s.size == bytes;
  if (s.bytes.size() < bytes) s.bytes.resize(bytes);
  s.id = id;
  s.layout = layout;
  s.size = bytes;
  *buffer = s.bytes.data();
  return holds;
}

ActivationCopies activation_copies(int64_t n_tokens, uint64_t id, int layout, int64_t per_token) {
  ActivationCopies c;
  c.layout = layout;
  c.per_token = per_token;
  if (n_tokens <= kWholePackTokens)
    c.ready = packed_activation_scratch(static_cast<size_t>(per_token * n_tokens), id, layout, &c.whole);
  return c;
}

bool activation_chunk(const ActivationCopies& c, int64_t tc, int64_t tc_end, uint8_t** out) {
  if (c.whole != nullptr) {
    *out = c.whole + c.per_token * tc;
    return c.ready;
  }
  return packed_activation_scratch(static_cast<size_t>(c.per_token * (tc_end - tc)), 0, c.layout, out);
}

uint64_t next_activation_id() {
  static std::atomic<uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace isa

}  // namespace ridge::kernels
