// Loading a model with packed weights three ways: from a path (the packer
// reads the matrices with pread from the file), from a File the caller opened
// (read through the mapping) and from a File holding the bytes in memory.
// All three give bitwise the same logits; the files' bytes stay intact and
// readable afterwards (nothing released that is still needed); and on a path
// load the packed matrices' original pages are not mapped into the process.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "kernels/repack.h"
#include "model/llama.h"
#include "model/random_model.h"

namespace ridge::model {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("ridge-packed-load-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Vocabulary and FFN widths that are not multiples of the 16-row panel.
RandomModelSpec spec(GgmlType type, bool tied) {
  RandomModelSpec s;
  s.n_vocab = 301, s.n_embd = 64, s.n_layer = 2, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 160;
  s.type = type, s.embd_type = type, s.tied_output = tied, s.seed = 5;
  return s;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Logits of a prompt fed as one batch, then of two decode steps.
std::vector<float> logits_of(const LlamaModel& m) {
  kernels::ThreadPool pool(2);
  kv::KvCache cache(m.kv_config(16));
  std::vector<float> logits;
  Batch b;
  for (int32_t t : {1, 200, 37, 299}) b.add(t, static_cast<int64_t>(b.size()), 0, true);
  m.forward(b, cache, pool, logits);
  int64_t pos = static_cast<int64_t>(b.size());
  for (int32_t t : {5, 260}) {
    b.clear();
    b.add(t, pos++, 0, true);
    m.forward(b, cache, pool, logits);
  }
  return logits;
}

// Every tensor of the loaded model's File still holds the file's bytes.
void expect_tensors_intact(const LlamaModel& m, const std::vector<uint8_t>& bytes, const std::string& what) {
  const gguf::File& f = m.file();
  for (const auto& t : f.tensors()) {
    const size_t at = f.data_offset() + t.offset;
    ASSERT_LE(at + t.n_bytes, bytes.size());
    EXPECT_EQ(std::memcmp(t.data, bytes.data() + at, t.n_bytes), 0) << what << ": tensor " << t.name << " changed";
  }
}

// The pages wholly inside [p, p + n), as page numbers [first, last).
std::pair<uintptr_t, uintptr_t> whole_pages(const uint8_t* p, size_t n) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  return {(reinterpret_cast<uintptr_t>(p) + page - 1) / page, (reinterpret_cast<uintptr_t>(p) + n) / page};
}

// Pages wholly inside [p, p + n) that are mapped into this process
// (/proc/self/pagemap bit 63), or -1 when pagemap cannot be read.
long mapped_pages(const uint8_t* p, size_t n) {
  const auto [first, last] = whole_pages(p, n);
  const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long mapped = 0;
  for (uintptr_t i = first; i < last; ++i) {
    uint64_t entry = 0;
    if (::pread(fd, &entry, sizeof entry, static_cast<off_t>(i * sizeof entry)) != sizeof entry) {
      ::close(fd);
      return -1;
    }
    mapped += (entry >> 63) & 1;
  }
  ::close(fd);
  return mapped;
}

class PackedLoad : public ::testing::TestWithParam<std::tuple<GgmlType, bool>> {};

TEST_P(PackedLoad, PathOpenedFileAndMemoryGiveTheSameLogits) {
  const auto [type, tied] = GetParam();
  TempDir dir;
  const std::string path = (dir.path / "model.gguf").string();
  write_random_llama(spec(type, tied), path);
  const std::vector<uint8_t> bytes = file_bytes(path);

  auto from_path = LlamaModel::load(path);
  auto from_file = LlamaModel::load(gguf::File::open(path));
  auto from_memory = LlamaModel::load(gguf::File::from_bytes(bytes, "model in memory"));

  const std::vector<float> want = logits_of(*from_path);
  ASSERT_EQ(want.size(), 6u * 301u);
  EXPECT_EQ(logits_of(*from_file), want) << "File::open";
  EXPECT_EQ(logits_of(*from_memory), want) << "File::from_bytes";
  EXPECT_EQ(logits_of(*from_memory), want) << "File::from_bytes, second run";
  EXPECT_EQ(logits_of(*from_path), want) << "path, second run";
  expect_tensors_intact(*from_path, bytes, "path");
  expect_tensors_intact(*from_file, bytes, "File::open");
  expect_tensors_intact(*from_memory, bytes, "File::from_bytes");
}

INSTANTIATE_TEST_SUITE_P(Types, PackedLoad,
                         ::testing::Combine(::testing::Values(GgmlType::Q4_0, GgmlType::Q8_0), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(ggml_type_name(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_tied" : "_untied");
                         });

TEST(PackedLoadPages, OriginalsOfPackedMatricesAreNotMappedAfterLoad) {
  // A type the active path packs (AVX2 packs Q4_0 only).
  GgmlType type = GgmlType::Q8_0;
  if (!kernels::packed_matmul_supported(type, kernels::active_kernel_path())) type = GgmlType::Q4_0;
  if (!kernels::packed_matmul_supported(type, kernels::active_kernel_path()))
    GTEST_SKIP() << "the active kernel path packs no weights";
  TempDir dir;
  const std::string path = (dir.path / "model.gguf").string();
  RandomModelSpec s = spec(type, false);
  s.n_embd = 256, s.n_ff = 1024;  // matrices of many pages
  write_random_llama(s, path);
  auto m = LlamaModel::load(path);
  const auto* up = m->file().find_tensor("blk.0.ffn_up.weight");
  ASSERT_NE(up, nullptr);
  const long mapped = mapped_pages(up->data, up->n_bytes);
  if (mapped < 0) GTEST_SKIP() << "/proc/self/pagemap cannot be read";
  EXPECT_EQ(mapped, 0) << "pages of blk.0.ffn_up.weight mapped after load";
  // The originals are still there to read (through the mapping, from the page cache).
  expect_tensors_intact(*m, file_bytes(path), "path");
}

TEST(PackedLoadPages, EmbeddingTableIsMappedAtLoad) {
  // Decode reads one embedding row per token: its pages are mapped at load,
  // not faulted in one by one in the middle of decode steps, tied or not
  // (a tied table is packed as the output matrix, which releases its pages).
  for (bool tied : {false, true}) {
    TempDir dir;
    const std::string path = (dir.path / "model.gguf").string();
    RandomModelSpec s = spec(GgmlType::Q4_0, tied);
    s.n_embd = 256, s.n_vocab = 4096;  // a table of many pages
    write_random_llama(s, path);
    auto m = LlamaModel::load(path);
    const auto* emb = m->file().find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    const long mapped = mapped_pages(emb->data, emb->n_bytes);
    if (mapped < 0) GTEST_SKIP() << "/proc/self/pagemap cannot be read";
    const auto [first, last] = whole_pages(emb->data, emb->n_bytes);
    const auto whole = static_cast<long>(last - first);
    ASSERT_GT(whole, 8);
    EXPECT_EQ(mapped, whole) << (tied ? "tied" : "untied") << ": pages of token_embd.weight not mapped after load";
    expect_tensors_intact(*m, file_bytes(path), "path");
  }
}

}  // namespace
}  // namespace ridge::model
