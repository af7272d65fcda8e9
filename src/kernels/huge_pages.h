#pragma once
// Large buffers straight from mmap, asking for transparent huge pages.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ridge::kernels {

// `bytes` (> 0) of zeroed memory on a 2 MiB boundary, advised to be backed by
// transparent huge pages (MADV_HUGEPAGE; advisory, so failure only costs
// speed). A first touch per 4 KiB page costs a fault (several microseconds
// in a virtual machine), and a kernel streaming through 4 KiB pages walks the
// page tables at every one; huge pages spare both. Freed with munmap when the
// last owner lets go. Throws std::bad_alloc when the mapping fails.
//
// With `populate`, every page is faulted in before this returns (as
// llama.cpp's and vLLM's KV caches are cleared up front), so no first write
// pays for its page later, in the middle of a timed step: a KV cache left to
// fault page by page cost a decode step about 65 µs per layer at each new
// block (TinyLlama shape, 16 positions a block: about 1% of decode).
std::shared_ptr<uint8_t> allocate_huge_pages(size_t bytes, bool populate = false);

}  // namespace ridge::kernels
