// The attention tile kernel, written once over a small vector vocabulary that
// the including file defines for its instruction set (attention_avx2.cpp,
// attention_avx512.cpp) before including this, inside its anonymous namespace:
//   kLanes (keys per chunk = floats per vector), Vec, vzero, vset1, vload,
//   vstore, vadd, vmul, vmax, vfmadd (a * b + c), hmax, hsum, first_lane,
//   exp_nonpositive (exp(x) for x <= 0; 0 below about -87, NaN stays NaN),
//   load_halves (kLanes halfs -> floats), load_halves_partial (n < kLanes
//   halfs, the other lanes 0), load_floats_partial (the same for floats),
//   mask_keys (lanes >= n set to -infinity),
//   store_halves (kLanes floats -> halfs), store_halves_partial (n < kLanes).
// Everything here has internal linkage (see attention_isa.h for why).
//
// One tile: rows r = token * n_heads + (head of the group - head_begin).
// Keys are taken in segments of t.segment_keys, each segment in chunks of up
// to kLanes keys inside one KV block, and chunks in groups of up to
// kGroupChunks:
//   1. per group: convert its K (stored transposed: one dimension's keys are
//      contiguous) from F16 once into scratch, and score every row against it
//      (one vector per row and chunk, built by broadcasting q[d] against the
//      keys' dimension d: no horizontal sums); the scaled scores go to the
//      row's segment buffer;
//   2. per row, one online-softmax update for the whole segment: the new
//      maximum m (one horizontal max), the rescale exp(m_old - m_new) of the
//      running sum l and of the accumulator, exp(score - m) in place, and l
//      grows by their sum (one horizontal sum);
//   3. per group: convert its V rows once and add
//      sum over keys of p[r][key] * V[key] to every row's accumulator.
// A row's arithmetic does not depend on which rows share its tile or pass.
// At the end out[r] = acc[r] / l[r].

// Keys go in groups of up to kGroupChunks chunks (vectors of kLanes keys):
// a group's K and V are converted once into scratch, and each scoring or
// accumulating pass covers the whole group for a block of rows, so the
// per-pass work (row pointers, loading and storing accumulators) is spread
// over up to 4 * kLanes keys and every broadcast feeds kGroupChunks FMAs.
// Rows per block: as many as keep the accumulators (kRowBlock * kGroupChunks
// vectors) in registers; the including file sets kRowBlock.
constexpr int kGroupChunks = kAttentionGroupChunks;
constexpr int64_t kPrefetchKeys = 64;  // how far ahead of the scoring K and V are requested

inline int64_t round_up16(int64_t x) { return (x + 15) / 16 * 16; }

struct TileScratch {
  float* kt;    // [kGroupChunks][head_dim][kLanes]: the group's keys, per chunk one vector per dimension
  float* vc;    // [kGroupChunks * kLanes][hd_pad]: the group's values, rows zero-padded
  float* p;     // [rows][p_stride]: the segment's scaled scores, then exp(score - m)
  int64_t p_stride;  // segment_keys + kLanes (a chunk's last vector may overhang)
  float* acc;   // [rows][hd_pad]
  float* m;     // [rows] running maximum of the scaled scores
  float* l;     // [rows] running sum of exp(score - m)
  float* rows;  // [rows][4]: two int64 per row (write_row_info)
};

TileScratch carve(float* base, int64_t rows, int64_t head_dim, int segment_keys) {
  const int64_t hd_pad = round_up16(head_dim), rows_pad = round_up16(rows);
  TileScratch s;
  s.p_stride = segment_keys + 16;
  s.kt = base;
  s.vc = s.kt + kGroupChunks * head_dim * 16;
  s.p = s.vc + kGroupChunks * 16 * hd_pad;
  s.acc = s.p + rows * s.p_stride;
  s.m = s.acc + rows * hd_pad;
  s.l = s.m + rows_pad;
  s.rows = s.l + rows_pad;
  return s;
}

// Per row of a tile, worked out once per tile rather than in every pass
// (the row's token and head take divisions): where its query is, and how
// many keys it sees (its position + 1); two int64 per row in the scratch.
void write_row_info(const AttentionTile& t, const TileScratch& s, int rows) {
  for (int r = 0; r < rows; ++r) {
    const int token = r / t.n_heads, head = t.kv_head * t.group + t.head_begin + r % t.n_heads;
    const int64_t info[2] = {token * t.q_stride + static_cast<int64_t>(head) * t.head_dim, t.first_pos + token + 1};
    std::memcpy(s.rows + 4 * r, info, sizeof info);
  }
}

int64_t row_q_offset(const TileScratch& s, int r) {
  int64_t v;
  std::memcpy(&v, s.rows + 4 * r, sizeof v);
  return v;
}

int64_t row_keys_seen(const TileScratch& s, int r) {
  int64_t v;
  std::memcpy(&v, s.rows + 4 * r + 2, sizeof v);
  return v;
}

// One chunk of a key group: n (<= kLanes) keys from position c0, all in
// block b from slot `slot`.
struct Chunk {
  int64_t c0, b;
  int slot, n;
};

// Scores rows [r0, r0 + NR) against the G chunks of a group (their keys
// converted into kt): scale * q . k, -infinity for keys after the row's
// position and for the lanes past a chunk's n, into each row's segment
// buffer at the chunk's offset c0 - seg0.
template <int NR, int G>
void score_rows(const AttentionTile& t, const TileScratch& s, int r0, const Chunk* chunks, int64_t seg0) {
  const int hd = t.head_dim;
  const float* q[NR];
  for (int j = 0; j < NR; ++j) q[j] = t.q + row_q_offset(s, r0 + j);
  Vec acc[NR][G];
  for (int j = 0; j < NR; ++j)
    for (int g = 0; g < G; ++g) acc[j][g] = vzero();
  for (int d = 0; d < hd; ++d) {
    Vec k[G];
    for (int g = 0; g < G; ++g) k[g] = vload(s.kt + (static_cast<int64_t>(g) * hd + d) * kLanes);
    for (int j = 0; j < NR; ++j) {
      const Vec qd = vset1(q[j][d]);
      for (int g = 0; g < G; ++g) acc[j][g] = vfmadd(qd, k[g], acc[j][g]);
    }
  }
  const Vec scale = vset1(t.scale);
  for (int j = 0; j < NR; ++j) {
    const int64_t seen_end = row_keys_seen(s, r0 + j);
    float* p = s.p + (r0 + j) * s.p_stride - seg0;
    for (int g = 0; g < G; ++g) {
      // Keys c0 .. c0 + n - 1; this row sees those at or before its own position.
      const int64_t seen = seen_end - chunks[g].c0;
      const int valid = seen <= 0 ? 0 : seen >= chunks[g].n ? chunks[g].n : static_cast<int>(seen);
      vstore(p + chunks[g].c0, mask_keys(vmul(acc[j][g], scale), valid));
    }
  }
}

// The online-softmax update of row r for a segment of n keys whose scaled
// scores are in its p row: returns the rescale factor for its accumulator.
float softmax_segment(const TileScratch& s, int r, int64_t n) {
  float* p = s.p + r * s.p_stride;
  // The lanes past n in the last vector hold whatever was there: read as -infinity.
  auto scores = [&](int64_t i) { return n - i >= kLanes ? vload(p + i) : mask_keys(vload(p + i), static_cast<int>(n - i)); };
  Vec mx = vset1(-__builtin_inff());
  for (int64_t i = 0; i < n; i += kLanes) mx = vmax(mx, scores(i));
  const float m_old = s.m[r], seg_max = hmax(mx);
  const float m_new = seg_max > m_old ? seg_max : m_old;
  // m_old is -infinity before the first segment: exp_nonpositive clamps, giving 0.
  const float corr = m_new == m_old ? 1.f : first_lane(exp_nonpositive(vset1(m_old - m_new)));
  const Vec neg_m = vset1(-m_new);
  Vec sum = vzero();
  for (int64_t i = 0; i < n; i += kLanes) {
    const Vec e = exp_nonpositive(vadd(scores(i), neg_m));  // masked keys: exp(-inf) = 0
    vstore(p + i, e);
    sum = vadd(sum, e);
  }
  s.l[r] = s.l[r] * corr + hsum(sum);
  s.m[r] = m_new;
  return corr;
}

// Columns [d, d + NV * kLanes) of acc[r] for rows [r0, r0 + NR):
// acc[r] += sum over the group's n keys of p[r][at + c] * V[c], key by key.
template <int NR, int NV>
void accumulate_cols(const TileScratch& s, int64_t hd_pad, int r0, int n, int64_t at, int64_t d) {
  Vec a[NR][NV];
  for (int j = 0; j < NR; ++j) {
    const float* acc = s.acc + (r0 + j) * hd_pad + d;
    for (int i = 0; i < NV; ++i) a[j][i] = vload(acc + i * kLanes);
  }
  const float* p[NR];
  for (int j = 0; j < NR; ++j) p[j] = s.p + (r0 + j) * s.p_stride + at;
  for (int c = 0; c < n; ++c) {
    const float* vrow = s.vc + c * hd_pad + d;
    Vec v[NV];
    for (int i = 0; i < NV; ++i) v[i] = vload(vrow + i * kLanes);
    for (int j = 0; j < NR; ++j) {
      const Vec pj = vset1(p[j][c]);
      for (int i = 0; i < NV; ++i) a[j][i] = vfmadd(pj, v[i], a[j][i]);
    }
  }
  for (int j = 0; j < NR; ++j) {
    float* acc = s.acc + (r0 + j) * hd_pad + d;
    for (int i = 0; i < NV; ++i) vstore(acc + i * kLanes, a[j][i]);
  }
}

Vec load_elements(const uint16_t* p) { return load_halves(p); }
Vec load_elements(const float* p) { return vload(p); }
Vec load_elements_partial(const uint16_t* p, int n) { return load_halves_partial(p, n); }
Vec load_elements_partial(const float* p, int n) { return load_floats_partial(p, n); }

// Converts a chunk's K into kt (one vector per dimension); T is the cache's
// element type (uint16_t for F16, float).
template <typename T>
void load_keys(const AttentionTile& t, float* kt, const Chunk& c) {
  const int hd = t.head_dim, bs = t.block_size;
  const T* k = static_cast<const T*>(t.k_blocks[c.b]) + static_cast<int64_t>(t.kv_head) * hd * bs + c.slot;
  for (int d = 0; d < hd; ++d) {
    const T* kd = k + static_cast<int64_t>(d) * bs;
    vstore(kt + d * kLanes, c.n == kLanes ? load_elements(kd) : load_elements_partial(kd, c.n));
  }
}

// The same for a chunk's V rows, into vc from row `row` on.
template <typename T>
void load_values(const AttentionTile& t, float* vc, const Chunk& c) {
  const int hd = t.head_dim, bs = t.block_size;
  const int64_t hd_pad = round_up16(hd);
  const T* v = static_cast<const T*>(t.v_blocks[c.b]) + (static_cast<int64_t>(t.kv_head) * bs + c.slot) * hd;
  for (int i = 0; i < c.n; ++i) {
    const T* vr = v + static_cast<int64_t>(i) * hd;
    float* out = vc + i * hd_pad;
    for (int64_t d = 0; d < hd_pad; d += kLanes) {
      const int64_t left = hd - d;
      vstore(out + d, left >= kLanes ? load_elements(vr + d)
                      : left > 0     ? load_elements_partial(vr + d, static_cast<int>(left))
                                     : vzero());
    }
  }
}

// Asks for a chunk's K and V to be brought into L1, kPrefetchKeys ahead of
// the scoring. load_segment has already brought the segment from memory, but
// a segment's K and V (up to 128 KiB per head) outgrow L1; dropping these
// requests once the segment loads were in made decode at 1024 keys no faster
// (three runs each, within noise either way).
template <typename T>
void prefetch_chunk(const AttentionTile& t, const Chunk& c) {
  const int hd = t.head_dim, bs = t.block_size;
  const char* k = reinterpret_cast<const char*>(static_cast<const T*>(t.k_blocks[c.b]) +
                                                static_cast<int64_t>(t.kv_head) * hd * bs + c.slot);
  const int64_t k_row = static_cast<int64_t>(bs) * sizeof(T);
  if (k_row <= 64) {
    // Short rows: the head's whole slice of the block, one request per line.
    for (int64_t i = 0; i < hd * k_row; i += 64) _mm_prefetch(k + i, _MM_HINT_T0);
  } else {
    for (int d = 0; d < hd; ++d) _mm_prefetch(k + d * k_row, _MM_HINT_T0);
  }
  const char* v = reinterpret_cast<const char*>(static_cast<const T*>(t.v_blocks[c.b]) +
                                                (static_cast<int64_t>(t.kv_head) * bs + c.slot) * hd);
  const int64_t v_bytes = static_cast<int64_t>(c.n) * hd * sizeof(T);
  for (int64_t i = 0; i < v_bytes; i += 64) _mm_prefetch(v + i, _MM_HINT_T0);
}

// Reads every line of the tile's K and V slices of the blocks holding keys
// [k0, k1), in a loop of loads alone, before a segment's passes use them.
// Left to the scoring and accumulating passes (and the prefetches ahead of
// them), a cold context's K/V came in with few lines in flight: decode
// attention over 1024 keys took 101-123 us per layer, and 43-58 us when run
// again at once. A loop that only loads keeps many in flight. TinyLlama Q4_0
// decode, 2 threads, alternating runs: +1.7% at 1024 keys of context, +25%
// at 4096 (see docs/performance.md, session 7).
template <typename T>
void load_segment(const AttentionTile& t, int64_t k0, int64_t k1) {
  const int hd = t.head_dim, bs = t.block_size;
  const int64_t slice_floats = static_cast<int64_t>(hd) * bs * static_cast<int64_t>(sizeof(T)) / 4;
  Vec acc = vzero();
  for (int64_t b = k0 / bs; b * bs < k1; ++b) {
    const auto* k = reinterpret_cast<const float*>(static_cast<const T*>(t.k_blocks[b]) +
                                                   static_cast<int64_t>(t.kv_head) * hd * bs);
    const auto* v = reinterpret_cast<const float*>(static_cast<const T*>(t.v_blocks[b]) +
                                                   static_cast<int64_t>(t.kv_head) * bs * hd);
    // One load per line of each (a vector of floats is at most a line; only the bits are used).
    for (int64_t i = 0; i + kLanes <= slice_floats; i += 16) acc = vmax(acc, vmax(vload(k + i), vload(v + i)));
  }
  // An empty statement that takes the result, so the loads stay.
  __asm__ volatile("" : : "v"(acc));
}

// Calls f(r0, NR-instantiation) over the rows in blocks of kRowBlock.
template <typename F>
void for_row_blocks(int rows, F&& f) {
  int r = 0;
  for (; r + kRowBlock <= rows; r += kRowBlock) f(r, std::integral_constant<int, kRowBlock>());
  switch (rows - r) {
    case 3: if constexpr (kRowBlock > 3) f(r, std::integral_constant<int, 3>()); break;
    case 2: if constexpr (kRowBlock > 2) f(r, std::integral_constant<int, 2>()); break;
    case 1: if constexpr (kRowBlock > 1) f(r, std::integral_constant<int, 1>()); break;
    default: break;
  }
}

// score_rows<NR, G> for a runtime G in 1..kGroupChunks.
template <int NR>
void score_group(const AttentionTile& t, const TileScratch& s, int r0, const Chunk* chunks, int g, int64_t seg0) {
  static_assert(kGroupChunks == 4, "one case per group size");
  switch (g) {
    case 4: return score_rows<NR, 4>(t, s, r0, chunks, seg0);
    case 3: return score_rows<NR, 3>(t, s, r0, chunks, seg0);
    case 2: return score_rows<NR, 2>(t, s, r0, chunks, seg0);
    default: return score_rows<NR, 1>(t, s, r0, chunks, seg0);
  }
}

// The accumulating pass for rows [r0, r0 + NR) over n keys: kAccVectors
// column vectors at a time, then what is left of hd_pad.
template <int NR>
void accumulate_rows(const TileScratch& s, int64_t hd_pad, int r0, int n, int64_t at) {
  static_assert(kAccVectors == 4, "one case per remainder");
  int64_t d = 0;
  for (; d + kAccVectors * kLanes <= hd_pad; d += kAccVectors * kLanes)
    accumulate_cols<NR, kAccVectors>(s, hd_pad, r0, n, at, d);
  switch ((hd_pad - d) / kLanes) {
    case 3: accumulate_cols<NR, 3>(s, hd_pad, r0, n, at, d); break;
    case 2: accumulate_cols<NR, 2>(s, hd_pad, r0, n, at, d); break;
    case 1: accumulate_cols<NR, 1>(s, hd_pad, r0, n, at, d); break;
    default: break;
  }
}

template <typename T>
void attention_tile_typed(const AttentionTile& t) {
  const int rows = t.n_tokens * t.n_heads;
  if (rows <= 0) return;
  const int hd = t.head_dim, bs = t.block_size, seg = t.segment_keys;
  const int64_t hd_pad = round_up16(hd);
  const TileScratch s = carve(t.scratch, rows, hd, seg);
  write_row_info(t, s, rows);
  for (int64_t i = 0; i < rows * hd_pad; ++i) s.acc[i] = 0.f;
  for (int r = 0; r < rows; ++r) {
    s.m[r] = -__builtin_inff();
    s.l[r] = 0.f;
  }
  const int64_t end = t.first_pos + t.n_tokens;  // keys [0, end) are seen by some row
  for (int64_t seg0 = 0; seg0 < end; seg0 += seg) {
    const int64_t seg_end = end - seg0 < seg ? end : seg0 + seg;
    // The chunk starting at key c0: inside one block, at most kLanes keys, not past the segment.
    auto chunk_at = [&](int64_t c0) {
      Chunk c;
      c.c0 = c0;
      c.b = c0 / bs;
      c.slot = static_cast<int>(c0 % bs);
      c.n = kLanes;
      if (bs - c.slot < c.n) c.n = bs - c.slot;
      if (seg_end - c0 < c.n) c.n = static_cast<int>(seg_end - c0);
      return c;
    };
    // Groups of up to kGroupChunks consecutive chunks; f(chunks, count, keys).
    auto for_groups = [&](auto&& f) {
      Chunk chunks[kGroupChunks];
      for (int64_t c0 = seg0; c0 < seg_end;) {
        int g = 0, keys = 0;
        for (; g < kGroupChunks && c0 < seg_end; ++g) {
          chunks[g] = chunk_at(c0);
          keys += chunks[g].n;
          c0 += chunks[g].n;
        }
        f(chunks, g, keys);
      }
    };
    auto prefetch_keys = [&](int64_t key) {
      if (key < seg_end) prefetch_chunk<T>(t, chunk_at(key));
    };
    load_segment<T>(t, seg0, seg_end);
    for (int64_t key = seg0; key < seg0 + kPrefetchKeys; key += kLanes) prefetch_keys(key);
    for_groups([&](const Chunk* chunks, int g, int /*keys*/) {
      for (int i = 0; i < g; ++i) {
        prefetch_keys(chunks[i].c0 + kPrefetchKeys);
        load_keys<T>(t, s.kt + static_cast<int64_t>(i) * hd * kLanes, chunks[i]);
      }
      for_row_blocks(rows, [&](int r0, auto nr) { score_group<decltype(nr)::value>(t, s, r0, chunks, g, seg0); });
    });
    for (int r = 0; r < rows; ++r) {
      const float corr = softmax_segment(s, r, seg_end - seg0);
      if (corr == 1.f) continue;
      float* acc = s.acc + r * hd_pad;
      const Vec c = vset1(corr);
      for (int64_t d = 0; d < hd_pad; d += kLanes) vstore(acc + d, vmul(vload(acc + d), c));
    }
    for_groups([&](const Chunk* chunks, int g, int keys) {
      for (int i = 0, row = 0; i < g; row += chunks[i].n, ++i) load_values<T>(t, s.vc + row * hd_pad, chunks[i]);
      for_row_blocks(rows, [&](int r0, auto nr) {
        accumulate_rows<decltype(nr)::value>(s, hd_pad, r0, keys, chunks[0].c0 - seg0);
      });
    });
  }
  for (int r = 0; r < rows; ++r) {
    const float* acc = s.acc + r * hd_pad;
    float* out = t.out + row_q_offset(s, r);
    const float inv = 1.f / s.l[r];
    for (int d = 0; d < hd; ++d) out[d] = acc[d] * inv;
  }
}

void attention_tile(const AttentionTile& t) {
  if (t.f32)
    attention_tile_typed<float>(t);
  else
    attention_tile_typed<uint16_t>(t);
}

// Row conversion to F16 with the including file's vector conversion.
void fp32_to_fp16_row(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_halves(y + i, vload(x + i));
  if (i < n) store_halves_partial(y + i, x + i, static_cast<int>(n - i));
}
