// The instruction-set-independent part of the GEMM over packed Q4_0 / Q8_0
// weights (repack.h): the per-tile copy of the activations and the loop over
// panels and tokens. Included inside the anonymous namespace of each
// kernel file (repack_matmul_avx512.cpp, repack_matmul_avx2.cpp), so every
// compilation has its own copy with internal linkage (see repack_kernels.h
// for why nothing compiled with ISA flags may be shared). A kernel file
// supplies a `Tiles` class:
//   kMaxTokens   tokens per tile (what its registers hold)
//   kLayout      a small number naming its activation copies (for the
//                per-thread scratch: two files' copies must not be mistaken)
//   tile<kQ8, T>(task, panel, chunk, n_blocks, xp, y, y_stride, accumulate):
//                one chunk of a panel of 16 rows (its n_blocks blocks from
//                `chunk` on) against T tokens whose activations for those
//                blocks pack_tile copied to xp; the sums start from y's
//                (the panel's earlier chunks) when `accumulate`, else from 0.

constexpr int kPanel = 16;
// Tokens are processed in chunks so a chunk's activations stay in L2 while
// each panel (read once per chunk from memory) meets all of them.
constexpr int64_t kTokenChunk = 64;

// Bytes per block of a tile's packed activations for T tokens: 8 groups x T
// tokens of 4 level bytes, then T scales (float), then T offsets (int32).
constexpr int64_t tile_stride(int T) { return 40 * static_cast<int64_t>(T); }

// Copies tokens [token, token + T) of the task's activations into `out`:
// for each block b, at out + b * tile_stride(T): the 4-byte group g of token t
// at (g * T + t) * 4, token t's scale at 32 * T + 4 * t, its offset at
// 36 * T + 4 * t.
inline void pack_tile(const PackedMatmulTask& task, int64_t token, int T, uint8_t* out) {
  const int64_t nb = task.blocks, cols = nb * 32, stride = tile_stride(T);
  for (int t = 0; t < T; ++t) {
    const int8_t* xq = task.xq + (token + t) * cols;
    const float* xd = task.xd + (token + t) * nb;
    const int32_t* xo = task.x_offset + (token + t) * nb;
    uint8_t* o = out;
    for (int64_t b = 0; b < nb; ++b, o += stride) {
      for (int g = 0; g < 8; ++g) std::memcpy(o + (g * T + t) * 4, xq + b * 32 + 4 * g, 4);
      std::memcpy(o + 32 * T + 4 * t, xd + b, 4);
      std::memcpy(o + 36 * T + 4 * t, xo + b, 4);
    }
  }
}

using TileFn = void (*)(const PackedMatmulTask&, int64_t panel, const uint8_t* chunk, int64_t n_blocks,
                        const uint8_t* xp, float* y, int64_t y_stride, bool accumulate);

template <class Tiles, bool kQ8, int T>
TileFn tile_for_tokens(int64_t nt) {
  if constexpr (T == 1) {
    return &Tiles::template tile<kQ8, 1>;
  } else {
    return nt == T ? &Tiles::template tile<kQ8, T> : tile_for_tokens<Tiles, kQ8, T - 1>(nt);
  }
}

template <class Tiles, bool kQ8>
void run_panels(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  constexpr int kMax = Tiles::kMaxTokens;
  constexpr int64_t kPairBytes = 2 * (kQ8 ? 512 : 256) + 2 * kPanel * 2;  // packed_pair_bytes (repack.h)
  const int64_t nb = task.blocks;
  // The packed activations, once per thread per fan-out (ActivationCopies;
  // the offsets differ between Q4_0 and Q8_0, and the tile width between
  // kernel files, hence the layout tag).
  const ActivationCopies copies = activation_copies(
      task.n_tokens, task.x_id, 1 + static_cast<int>(task.format) + 2 * Tiles::kLayout, tile_stride(1) * nb);
  for (int64_t tc = 0; tc < task.n_tokens; tc += kTokenChunk) {
    const int64_t tc_end = tc + kTokenChunk < task.n_tokens ? tc + kTokenChunk : task.n_tokens;
    uint8_t* packed_x = nullptr;
    const bool packed = activation_chunk(copies, tc, tc_end, &packed_x);
    // Tile k of the chunk (tokens tc + kMax * k ..) starts at 40 * kMax * k * nb bytes.
    for (int64_t t = tc; t < tc_end && !packed; t += kMax) {
      const int nt = static_cast<int>(tc_end - t < kMax ? tc_end - t : kMax);
      pack_tile(task, t, nt, packed_x + tile_stride(1) * nb * (t - tc));
    }
    // The layout's order (repack.h). A chunk's float sums go through y
    // between chunks, which keeps their bits.
    for_each_panel_chunk(task, panel_begin, panel_end, kPairBytes,
                         [&](int64_t p, int64_t c, int64_t b0, int64_t n_blocks, const uint8_t* chunk) {
                           for (int64_t t = tc; t < tc_end; t += kMax) {
                             const int nt = static_cast<int>(tc_end - t < kMax ? tc_end - t : kMax);
                             const uint8_t* xp = packed_x + tile_stride(1) * nb * (t - tc) + tile_stride(nt) * b0;
                             tile_for_tokens<Tiles, kQ8, kMax>(nt)(task, p, chunk, n_blocks, xp,
                                                                   task.y + t * task.rows, task.rows, c > 0);
                           }
                         });
  }
}
