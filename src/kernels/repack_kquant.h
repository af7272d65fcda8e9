#pragma once
// Packed layouts of the K-quant types Q4_K and Q6_K (internal to repack.cpp
// and the packed K-quant GEMM): 16-row panels as for Q4_0/Q8_0 (repack.h),
// one record of `block_bytes` per (panel, super-block of 256 columns), at
// data + (panel * super_blocks + s) * block_bytes, everything the kernel needs
// for that tile in one sequential stream. The 6-bit (Q4_K) and int8 (Q6_K)
// sub-block scales are decoded at pack time and stored as one byte per row,
// 16 rows together, so a widening load gives the 16 rows' values in int32 or
// int16 lanes. Rows past the end of the matrix are zero (their results are
// never stored).
//
// Level vectors: 64 bytes, 32-bit lane i holding 4 bytes of row i, so one
// vpdpbusd multiplies 16 rows by 4 columns. Within a super-block, nibble
// vector v (0..7) of "pair" p (0..3) holds in its low nibbles the levels of
// columns 64p + 4v .. +3 and in its high nibbles those of 64p + 32 + 4v .. +3,
// exactly as Q4_0's packed vectors (the same nibble split in the kernel).
//
// Q4_K, 2368 bytes: f16 d[16] @0, f16 dmin[16] @32, u8 scale[8 sub-blocks][16]
//   @64, u8 min[4 sub-block pairs][16 rows][2] @192 (the two mins of a row
//   adjacent: one vpmovzxbw gives int16 pairs for vpdpwssd against a pair of
//   activation sums), then the nibble vectors, pair-major: @320 + 512p + 64v.
//   Levels are the stored 0..15; x = d * scale_j * u - dmin * min_j per
//   sub-block j of 32 (j = 2p for low nibbles, 2p + 1 for high ones).
// Q6_K, 3392 bytes: f32 d[16] @0, i8 scale[16 sub-blocks of 16][16] @64, then
//   per pair p at 320 + 768p: the 8 nibble vectors (low 4 bits of the 6-bit
//   levels u = q + 32, 0..63) and 4 vectors of their top 2 bits: byte b of
//   lane i of top-bit vector w holds, in bits 2f..2f+1, the top bits of byte b
//   of lane i of nibble vector w (f = 0: low nibble, 1: high nibble) or of
//   nibble vector w + 4 (f = 2: low, 3: high). x = d * scale_j * (u - 32) per
//   sub-block j = column / 16.
// Records are whole 64-byte lines (aligned vector loads); per 16 rows and 256
// columns they take 2368 bytes for Q4_K's 2304 (+2.8%) and 3392 for Q6_K's
// 3360 (+1%, d widened to f32 to fill the line).
#include <cstddef>
#include <cstdint>

#include "kernels/repack.h"

namespace ridge::kernels {

inline constexpr size_t kPackedQ4KBytes = 2368;
inline constexpr size_t kPackedQ6KBytes = 3392;

// Whether `type` is one of the K types packed as above.
bool is_packed_kquant(GgmlType type);

// Bytes per (panel, super-block) record of a K type packed as above.
size_t packed_kquant_block_bytes(GgmlType type);

// Packs rows first_row .. + n_rows (n_rows <= 16, `row_bytes` apart) into
// panel `panel` of `pw` (whose shape and `levels` pointer are set; the
// destination must be zeroed where n_rows < 16).
void pack_kquant_panel(const uint8_t* first_row, size_t row_bytes, int64_t n_rows, const PackedWeights& pw,
                       int64_t panel);

}  // namespace ridge::kernels
