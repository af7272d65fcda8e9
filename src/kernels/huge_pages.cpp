#include "kernels/huge_pages.h"

#include <new>

#include <sys/mman.h>
#include <unistd.h>

namespace ridge::kernels {

namespace {

// Faults every page of [p, p + size) in, writable, with a write per page.
// (MADV_POPULATE_WRITE, which does this in one call, left the first write
// to each new KV block 32 µs slow on this project's virtual machines, against
// 1.7 µs after these writes.)
void populate_pages(uint8_t* p, size_t size, size_t page) {
  for (size_t i = 0; i < size; i += page) *static_cast<volatile uint8_t*>(p + i) = 0;
}

}  // namespace

std::shared_ptr<uint8_t> allocate_huge_pages(size_t bytes, bool populate) {
  if (bytes == 0) throw std::bad_alloc();
  constexpr size_t kHuge = size_t{2} << 20;
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = (bytes + page - 1) / page * page;
  // Map 2 MiB more, then unmap the slack around a 2 MiB-aligned start, so
  // that all of the buffer can be huge pages.
  const size_t padded = size + kHuge;
  void* p = ::mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t start = (base + kHuge - 1) / kHuge * kHuge;
  const uintptr_t end = start + size;
  if (start > base) ::munmap(p, start - base);
  if (base + padded > end) ::munmap(reinterpret_cast<void*>(end), base + padded - end);
  ::madvise(reinterpret_cast<void*>(start), size, MADV_HUGEPAGE);
  if (populate) populate_pages(reinterpret_cast<uint8_t*>(start), size, page);
  return std::shared_ptr<uint8_t>(reinterpret_cast<uint8_t*>(start), [size](uint8_t* q) { ::munmap(q, size); });
}

}  // namespace ridge::kernels
