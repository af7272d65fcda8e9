// Packing at load time (repack.h): pack_weights_all, the one-fan-out path a
// model load takes, gives byte for byte the layout repack.h describes (checked
// against a plain reference packer written from that description, padding
// rows included) for many matrices of both types and awkward shapes at once,
// with and without a pool, reading rows in place or through a SourceReader;
// the reader is given only ranges inside the matrices, its failures reach the
// caller, bad matrices are refused before anything is packed, and every
// matrix keeps the shared storage alive on its own.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "kernels/huge_pages.h"
#include "kernels/ops.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"
#include "tensor/quant.h"

using namespace ridge;

namespace {

// Random block bytes (every level pattern) with random f16 scales.
std::vector<uint8_t> random_rows(GgmlType type, int64_t rows, int64_t cols, size_t row_bytes, uint32_t seed) {
  std::vector<uint8_t> bytes(row_bytes * static_cast<size_t>(rows));
  std::mt19937 g(seed);
  for (auto& b : bytes) b = static_cast<uint8_t>(g());
  const size_t block = ggml_type_traits(type).block_bytes;
  std::uniform_real_distribution<float> scale(-1.f, 1.f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / 32; ++b) {
      const uint16_t h = tensor::fp32_to_fp16(scale(g));
      std::memcpy(&bytes[static_cast<size_t>(r) * row_bytes + static_cast<size_t>(b) * block], &h, 2);
    }
  return bytes;
}

// Blocks per chunk of the layout: 64 for Q4_0, 32 for Q8_0, or the whole row
// when it has no more.
int64_t reference_chunk_blocks(const kernels::WeightMatrix& w) {
  const int64_t blocks = w.cols / 32, chunk = w.type == GgmlType::Q4_0 ? 64 : 32;
  return blocks <= chunk ? blocks : chunk;
}

// The layout of repack.h, element by element: the blocks of panel p go in
// pairs of 2 * block_bytes + 64 bytes (blocks 2k, 2k + 1). The pairs are
// stored group of 8 panels by group, within a group chunk by chunk (a chunk:
// reference_chunk_blocks blocks of a row), within a chunk panel by panel,
// within that in block order. Block b's levels at (b % 2) * block_bytes into its pair hold, at byte
// 64 * g + 4 * i + e, element 4 * g + e of the group's levels of row 16 * p + i
// (Q4_0: quant byte 4g+e as stored; Q8_0: level + 128), and its 16 rows'
// scales follow both blocks' levels, at 2 * block_bytes + (b % 2) * 32. Rows
// past the end, and the missing second block of an odd last pair, are zeros.
std::vector<uint8_t> reference_pack(const kernels::WeightMatrix& w) {
  const bool q4 = w.type == GgmlType::Q4_0;
  const int64_t panels = (w.rows + 15) / 16, blocks = w.cols / 32, pairs = (blocks + 1) / 2;
  const size_t block_bytes = q4 ? 256 : 512, src_block = q4 ? 18 : 34, pair_bytes = 2 * block_bytes + 64;
  const int groups = q4 ? 4 : 8;
  std::vector<uint8_t> ref(static_cast<size_t>(panels * pairs) * pair_bytes, 0);
  // Where each pair (panel p, blocks b, b + 1) goes: walk the stored order.
  const int64_t chunk = reference_chunk_blocks(w);
  std::vector<size_t> pair_at(static_cast<size_t>(panels * pairs));
  size_t at = 0;
  for (int64_t g0 = 0; g0 < panels; g0 += 8)
    for (int64_t b0 = 0; b0 < blocks; b0 += chunk)
      for (int64_t p = g0; p < std::min(g0 + 8, panels); ++p)
        for (int64_t b = b0; b < std::min(b0 + chunk, blocks); b += 2, at += pair_bytes)
          pair_at[static_cast<size_t>(p * pairs + b / 2)] = at;
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t i = 0; i < 16 && p * 16 + i < w.rows; ++i) {
        const uint8_t* blk = w.data + static_cast<size_t>(p * 16 + i) * w.row_bytes + static_cast<size_t>(b) * src_block;
        uint8_t* pair = ref.data() + pair_at[static_cast<size_t>(p * pairs + b / 2)];
        std::memcpy(pair + 2 * block_bytes + static_cast<size_t>(b % 2) * 32 + static_cast<size_t>(2 * i), blk, 2);
        for (int g = 0; g < groups; ++g)
          for (int e = 0; e < 4; ++e) {
            const uint8_t v = blk[2 + 4 * g + e];
            pair[static_cast<size_t>(b % 2) * block_bytes + static_cast<size_t>(64 * g + 4 * i + e)] =
                q4 ? v : static_cast<uint8_t>(v + 128);
          }
      }
  return ref;
}

void expect_matches_reference(const kernels::PackedWeights& pw, const kernels::WeightMatrix& w,
                              const std::string& what) {
  const std::vector<uint8_t> ref = reference_pack(w);
  ASSERT_EQ(pw.type, w.type) << what;
  ASSERT_EQ(pw.rows, w.rows) << what;
  ASSERT_EQ(pw.cols, w.cols) << what;
  ASSERT_EQ(pw.panels, (w.rows + 15) / 16) << what;
  ASSERT_EQ(pw.blocks, w.cols / 32) << what;
  ASSERT_EQ(pw.block_bytes, w.type == GgmlType::Q4_0 ? 256u : 512u) << what;
  ASSERT_EQ(pw.chunk_blocks, reference_chunk_blocks(w)) << what;
  ASSERT_EQ(pw.bytes(), ref.size()) << what;
  EXPECT_EQ(std::memcmp(pw.levels, ref.data(), ref.size()), 0) << what << ": the packed bytes differ";
}

// A set of matrices of both types: 1 row to several panels (not multiples of
// 16), 1 to 5 blocks, rows with padding after them (row_bytes larger than the
// row), large ones whose rows span several of the fan-out's runs, and rows of
// several chunks (an odd last chunk, a last group of fewer than 8 panels).
struct MatrixSet {
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<kernels::WeightMatrix> ws;
  std::vector<const kernels::WeightMatrix*> ptrs() const {
    std::vector<const kernels::WeightMatrix*> p;
    for (const auto& w : ws) p.push_back(&w);
    return p;
  }
};

MatrixSet make_set() {
  struct Spec {
    GgmlType type;
    int64_t rows, blocks;
    size_t extra_row_bytes;
  };
  const Spec specs[] = {
      {GgmlType::Q4_0, 1, 1, 0},    {GgmlType::Q8_0, 15, 3, 0},   {GgmlType::Q4_0, 17, 5, 0},
      {GgmlType::Q8_0, 33, 2, 6},   {GgmlType::Q4_0, 16, 4, 14},  {GgmlType::Q8_0, 64, 1, 0},
      {GgmlType::Q4_0, 1000, 64, 0}, {GgmlType::Q8_0, 613, 96, 0}, {GgmlType::Q8_0, 2, 176, 0},
      {GgmlType::Q4_0, 150, 131, 0}, {GgmlType::Q8_0, 40, 33, 2},
  };
  MatrixSet s;
  uint32_t seed = 7;
  for (const Spec& sp : specs) {
    const int64_t cols = sp.blocks * 32;
    const size_t row_bytes = ggml_row_bytes(sp.type, cols) + sp.extra_row_bytes;
    s.bytes.push_back(random_rows(sp.type, sp.rows, cols, row_bytes, seed++));
  }
  for (size_t i = 0; i < s.bytes.size(); ++i) {
    const Spec& sp = specs[i];
    const int64_t cols = sp.blocks * 32;
    s.ws.push_back({sp.type, s.bytes[i].data(), cols, sp.rows, ggml_row_bytes(sp.type, cols) + sp.extra_row_bytes});
  }
  return s;
}

std::string describe(const kernels::WeightMatrix& w, size_t i) {
  return "matrix " + std::to_string(i) + " (" + std::string(ggml_type_name(w.type)) + " " + std::to_string(w.rows) +
         " x " + std::to_string(w.cols) + ")";
}

TEST(Repack, SinglePackMatchesTheReferenceLayout) {
  const MatrixSet s = make_set();
  for (size_t i = 0; i < s.ws.size(); ++i) {
    auto pw = kernels::pack_weights(s.ws[i]);
    expect_matches_reference(*pw, s.ws[i], describe(s.ws[i], i));
  }
}

TEST(Repack, AllAtOnceMatchesTheReferenceWithAndWithoutAPool) {
  const MatrixSet s = make_set();
  for (int threads : {0, 1, 2, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    std::unique_ptr<kernels::ThreadPool> pool;
    if (threads > 0) pool = std::make_unique<kernels::ThreadPool>(threads);
    auto packed = kernels::pack_weights_all(s.ptrs(), pool.get());
    ASSERT_EQ(packed.size(), s.ws.size());
    for (size_t i = 0; i < s.ws.size(); ++i) expect_matches_reference(*packed[i], s.ws[i], describe(s.ws[i], i));
  }
}

TEST(Repack, AllAtOnceThroughAReaderNeverReadsTheRowsInPlace) {
  // The matrices' `data` points at decoy bytes; the reader serves the real
  // ones from the same offsets of another buffer. Any in-place read shows up
  // as decoy bytes in the packed copy.
  const MatrixSet real = make_set();
  MatrixSet decoy = make_set();
  for (size_t i = 0; i < decoy.bytes.size(); ++i) {
    std::mt19937 g(1000 + static_cast<uint32_t>(i));
    for (auto& b : decoy.bytes[i]) b = static_cast<uint8_t>(g());
  }
  std::vector<size_t> reads(real.ws.size(), 0);
  std::vector<std::string> bad_ranges;
  std::mutex mu;
  const kernels::SourceReader read = [&](const uint8_t* at, size_t n, uint8_t* dst) {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < decoy.ws.size(); ++i) {
      const uint8_t* begin = decoy.bytes[i].data();
      if (at < begin || at >= begin + decoy.bytes[i].size()) continue;
      const size_t off = static_cast<size_t>(at - begin);
      if (off + n > decoy.bytes[i].size() || off % decoy.ws[i].row_bytes != 0)
        bad_ranges.push_back(describe(decoy.ws[i], i) + ": " + std::to_string(n) + " bytes at " + std::to_string(off));
      else
        std::memcpy(dst, real.bytes[i].data() + off, n);
      reads[i] += n;
      return;
    }
    bad_ranges.push_back("a pointer outside every matrix");
  };
  kernels::ThreadPool pool(2);
  auto packed = kernels::pack_weights_all(decoy.ptrs(), &pool, &read);
  EXPECT_TRUE(bad_ranges.empty()) << bad_ranges.front();
  for (size_t i = 0; i < real.ws.size(); ++i) {
    EXPECT_EQ(reads[i], real.ws[i].row_bytes * static_cast<size_t>(real.ws[i].rows))
        << describe(real.ws[i], i) << ": every row byte is read exactly once";
    expect_matches_reference(*packed[i], real.ws[i], describe(real.ws[i], i));
  }
}

TEST(Repack, ReaderFailureReachesTheCaller) {
  const MatrixSet s = make_set();
  const kernels::SourceReader read = [&](const uint8_t* at, size_t, uint8_t*) {
    if (at == s.ws[7].data) throw std::runtime_error("model.gguf: cannot read");
  };
  kernels::ThreadPool pool(2);
  EXPECT_THROW(kernels::pack_weights_all(s.ptrs(), &pool, &read), std::runtime_error);
  EXPECT_THROW(kernels::pack_weights_all(s.ptrs(), nullptr, &read), std::runtime_error);
}

TEST(Repack, BadMatricesAreRefusedBeforeAnyPacking) {
  MatrixSet s = make_set();
  size_t reads = 0;
  const kernels::SourceReader read = [&](const uint8_t*, size_t, uint8_t*) { ++reads; };
  auto expect_refused = [&](const kernels::WeightMatrix& bad, const std::string& what) {
    auto ws = s.ptrs();
    ws.push_back(&bad);
    EXPECT_THROW(kernels::pack_weights_all(ws, nullptr, &read), std::invalid_argument) << what;
    EXPECT_EQ(reads, 0u) << what << ": rows were read before the last matrix was checked";
  };
  std::vector<float> f(64);
  expect_refused({GgmlType::F32, reinterpret_cast<const uint8_t*>(f.data()), 32, 2, 128}, "F32");
  kernels::WeightMatrix short_rows = s.ws[0];
  short_rows.row_bytes -= 1;
  expect_refused(short_rows, "row_bytes short of a row");
  kernels::WeightMatrix no_rows = s.ws[1];
  no_rows.rows = 0;
  expect_refused(no_rows, "no rows");
  kernels::WeightMatrix ragged = s.ws[1];
  ragged.cols = 48;
  expect_refused(ragged, "cols not whole blocks");
  EXPECT_TRUE(kernels::pack_weights_all({}, nullptr, &read).empty());
}

TEST(Repack, EachMatrixKeepsTheSharedStorageAlive) {
  const MatrixSet s = make_set();
  auto packed = kernels::pack_weights_all(s.ptrs());
  for (size_t i = 1; i < packed.size(); ++i) EXPECT_EQ(packed[i]->storage, packed[0]->storage);
  std::unique_ptr<kernels::PackedWeights> last = std::move(packed.back());
  packed.clear();  // every other owner gone
  expect_matches_reference(*last, s.ws.back(), "the last matrix after the others are destroyed");
  // Arrays of different matrices do not overlap.
  auto again = kernels::pack_weights_all(s.ptrs());
  for (size_t i = 0; i + 1 < again.size(); ++i)
    EXPECT_LE(again[i]->levels + again[i]->bytes(), again[i + 1]->levels) << "matrices " << i << " and " << i + 1;
}

TEST(HugePages, BuffersAreZeroedAlignedAndOwned) {
  // The packed weights and the KV cache live in these: 2 MiB aligned (so all
  // of a buffer can be huge pages), zeroed, writable to the last byte, and
  // alive while any owner holds them.
  for (size_t bytes : {size_t{1}, size_t{4096}, (size_t{3} << 20) + 5}) {
    std::shared_ptr<uint8_t> a = kernels::allocate_huge_pages(bytes);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.get()) % (uintptr_t{2} << 20), 0u) << bytes;
    for (size_t i = 0; i < bytes; i += 997) ASSERT_EQ(a.get()[i], 0) << i;
    EXPECT_EQ(a.get()[bytes - 1], 0);
    a.get()[bytes - 1] = 7;
    std::shared_ptr<uint8_t> b = a;
    a.reset();
    EXPECT_EQ(b.get()[bytes - 1], 7);
  }
  EXPECT_THROW(kernels::allocate_huge_pages(0), std::bad_alloc);
}

// Counts the resident pages of [p, p + bytes) (mincore).
size_t resident_pages(const uint8_t* p, size_t bytes) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((bytes + page - 1) / page);
  if (::mincore(const_cast<uint8_t*>(p), bytes, in.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char c : in) n += c & 1;
  return n;
}

TEST(HugePages, PopulatedBuffersAreResidentBeforeTheFirstWrite) {
  // The KV cache asks for its pages up front: none may be left to fault in
  // at its first write, in the middle of a decode step.
  const size_t bytes = (size_t{5} << 20) + 12345;
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t pages = (bytes + page - 1) / page;
  std::shared_ptr<uint8_t> lazy = kernels::allocate_huge_pages(bytes);
  std::shared_ptr<uint8_t> eager = kernels::allocate_huge_pages(bytes, /*populate=*/true);
  EXPECT_LT(resident_pages(lazy.get(), bytes), pages) << "an untouched mapping should not be all resident";
  EXPECT_EQ(resident_pages(eager.get(), bytes), pages);
  for (size_t i = 0; i < bytes; i += 4093) ASSERT_EQ(eager.get()[i], 0) << i;
}

}  // namespace
