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
// Keys are taken in segments of t.segment_keys, and each segment in chunks of
// up to kLanes keys inside one KV block:
//   1. per chunk: convert its K (stored transposed: one dimension's keys are
//      contiguous) from F16 once into scratch, and score every row against it
//      (one vector per row, built by broadcasting q[d] against the keys'
//      dimension d: no horizontal sums); the scaled scores go to the row's
//      segment buffer;
//   2. per row, one online-softmax update for the whole segment: the new
//      maximum m (one horizontal max), the rescale exp(m_old - m_new) of the
//      running sum l and of the accumulator, exp(score - m) in place, and l
//      grows by their sum (one horizontal sum);
//   3. per chunk: convert its V rows once and add
//      sum over keys of p[r][key] * V[key] to every row's accumulator.
// At the end out[r] = acc[r] / l[r].

constexpr int kRowBlock = 4;  // rows scored / accumulated together (8 FMA chains)

inline int64_t round_up16(int64_t x) { return (x + 15) / 16 * 16; }

struct TileScratch {
  float* kt;    // [head_dim][kLanes]: the chunk's keys, one vector per dimension
  float* vc;    // [kLanes][hd_pad]: the chunk's values, rows zero-padded
  float* p;     // [rows][p_stride]: the segment's scaled scores, then exp(score - m)
  int64_t p_stride;  // segment_keys + kLanes (a chunk's last vector may overhang)
  float* acc;   // [rows][hd_pad]
  float* m;     // [rows] running maximum of the scaled scores
  float* l;     // [rows] running sum of exp(score - m)
};

TileScratch carve(float* base, int64_t rows, int64_t head_dim, int segment_keys) {
  const int64_t hd_pad = round_up16(head_dim), rows_pad = round_up16(rows);
  TileScratch s;
  s.p_stride = segment_keys + 16;
  s.kt = base;
  s.vc = s.kt + head_dim * 16;
  s.p = s.vc + 16 * hd_pad;
  s.acc = s.p + rows * s.p_stride;
  s.m = s.acc + rows * hd_pad;
  s.l = s.m + rows_pad;
  return s;
}

// Scores rows [r0, r0 + NR) against the chunk's n keys starting at position
// c0 (offset `at` in the segment): scale * q . k, -infinity for keys after the
// row's position and for the lanes past n.
template <int NR>
void score_rows(const AttentionTile& t, const TileScratch& s, int r0, int64_t c0, int n, int64_t at) {
  const int hd = t.head_dim;
  const float* q[NR];
  int valid[NR];
  for (int j = 0; j < NR; ++j) {
    const int r = r0 + j, token = r / t.n_heads, head = t.kv_head * t.group + t.head_begin + r % t.n_heads;
    q[j] = t.q + token * t.q_stride + static_cast<int64_t>(head) * hd;
    // Keys c0 .. c0 + n - 1; this row sees those at or before its own position.
    const int64_t seen = t.first_pos + token - c0 + 1;
    valid[j] = seen <= 0 ? 0 : seen >= n ? n : static_cast<int>(seen);
  }
  // Two accumulators per row (even and odd dimensions) keep 2 * NR FMA chains in flight.
  Vec even[NR], odd[NR];
  for (int j = 0; j < NR; ++j) even[j] = odd[j] = vzero();
  int d = 0;
  for (; d + 1 < hd; d += 2) {
    const Vec k0 = vload(s.kt + d * kLanes), k1 = vload(s.kt + (d + 1) * kLanes);
    for (int j = 0; j < NR; ++j) {
      even[j] = vfmadd(vset1(q[j][d]), k0, even[j]);
      odd[j] = vfmadd(vset1(q[j][d + 1]), k1, odd[j]);
    }
  }
  if (d < hd) {
    const Vec k0 = vload(s.kt + d * kLanes);
    for (int j = 0; j < NR; ++j) even[j] = vfmadd(vset1(q[j][d]), k0, even[j]);
  }
  const Vec scale = vset1(t.scale);
  for (int j = 0; j < NR; ++j)
    vstore(s.p + (r0 + j) * s.p_stride + at, mask_keys(vmul(vadd(even[j], odd[j]), scale), valid[j]));
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
// acc[r] += sum over the chunk's n keys of p[r][at + c] * V[c].
template <int NR, int NV>
void accumulate_cols(const TileScratch& s, int64_t hd_pad, int r0, int n, int64_t at, int64_t d) {
  Vec a[NR][NV];
  for (int j = 0; j < NR; ++j) {
    const float* acc = s.acc + (r0 + j) * hd_pad + d;
    for (int i = 0; i < NV; ++i) a[j][i] = vload(acc + i * kLanes);
  }
  for (int c = 0; c < n; ++c) {
    const float* vrow = s.vc + c * hd_pad + d;
    Vec v[NV];
    for (int i = 0; i < NV; ++i) v[i] = vload(vrow + i * kLanes);
    for (int j = 0; j < NR; ++j) {
      const Vec pj = vset1(s.p[(r0 + j) * s.p_stride + at + c]);
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

// Converts the chunk's K (n keys from slot `slot` of block `b`) into scratch;
// T is the cache's element type (uint16_t for F16, float).
template <typename T>
void load_keys(const AttentionTile& t, const TileScratch& s, int64_t b, int slot, int n) {
  const int hd = t.head_dim, bs = t.block_size;
  const T* k = static_cast<const T*>(t.k_blocks[b]) + static_cast<int64_t>(t.kv_head) * hd * bs + slot;
  for (int d = 0; d < hd; ++d) {
    const T* kd = k + static_cast<int64_t>(d) * bs;
    vstore(s.kt + d * kLanes, n == kLanes ? load_elements(kd) : load_elements_partial(kd, n));
  }
}

// The same for the chunk's V rows.
template <typename T>
void load_values(const AttentionTile& t, const TileScratch& s, int64_t b, int slot, int n) {
  const int hd = t.head_dim, bs = t.block_size;
  const int64_t hd_pad = round_up16(hd);
  const T* v = static_cast<const T*>(t.v_blocks[b]) + (static_cast<int64_t>(t.kv_head) * bs + slot) * hd;
  for (int c = 0; c < n; ++c) {
    const T* vr = v + static_cast<int64_t>(c) * hd;
    float* out = s.vc + c * hd_pad;
    for (int64_t d = 0; d < hd_pad; d += kLanes) {
      const int64_t left = hd - d;
      vstore(out + d, left >= kLanes ? load_elements(vr + d)
                      : left > 0     ? load_elements_partial(vr + d, static_cast<int>(left))
                                     : vzero());
    }
  }
}

// Asks for the chunk's K and V to be brought into the cache: K/V blocks are
// scattered over the pool and, between two steps, evicted by the weights
// streaming through, so a chunk would otherwise wait on memory for its first
// lines. Issued one chunk ahead of the scoring.
template <typename T>
void prefetch_chunk(const AttentionTile& t, int64_t b, int slot, int n) {
  const int hd = t.head_dim, bs = t.block_size;
  const char* k = reinterpret_cast<const char*>(static_cast<const T*>(t.k_blocks[b]) +
                                                static_cast<int64_t>(t.kv_head) * hd * bs + slot);
  const int64_t k_row = static_cast<int64_t>(bs) * sizeof(T);
  if (k_row <= 64) {
    // Short rows: the head's whole slice of the block, one request per line.
    for (int64_t i = 0; i < hd * k_row; i += 64) _mm_prefetch(k + i, _MM_HINT_T0);
  } else {
    for (int d = 0; d < hd; ++d) _mm_prefetch(k + d * k_row, _MM_HINT_T0);
  }
  const char* v = reinterpret_cast<const char*>(static_cast<const T*>(t.v_blocks[b]) +
                                                (static_cast<int64_t>(t.kv_head) * bs + slot) * hd);
  const int64_t v_bytes = static_cast<int64_t>(n) * hd * sizeof(T);
  for (int64_t i = 0; i < v_bytes; i += 64) _mm_prefetch(v + i, _MM_HINT_T0);
}

// Calls f(r0, NR-instantiation) over the rows in blocks of kRowBlock.
template <typename F>
void for_row_blocks(int rows, F&& f) {
  int r = 0;
  for (; r + kRowBlock <= rows; r += kRowBlock) f(r, std::integral_constant<int, kRowBlock>());
  switch (rows - r) {
    case 3: f(r, std::integral_constant<int, 3>()); break;
    case 2: f(r, std::integral_constant<int, 2>()); break;
    case 1: f(r, std::integral_constant<int, 1>()); break;
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
  for (int64_t i = 0; i < rows * hd_pad; ++i) s.acc[i] = 0.f;
  for (int r = 0; r < rows; ++r) {
    s.m[r] = -__builtin_inff();
    s.l[r] = 0.f;
  }
  const int64_t end = t.first_pos + t.n_tokens;  // keys [0, end) are seen by some row
  for (int64_t seg0 = 0; seg0 < end; seg0 += seg) {
    const int64_t seg_end = end - seg0 < seg ? end : seg0 + seg;
    // The chunks of the segment: inside one block, at most kLanes keys.
    auto for_chunks = [&](auto&& f) {
      for (int64_t c0 = seg0; c0 < seg_end;) {
        const int64_t b = c0 / bs;
        const int slot = static_cast<int>(c0 % bs);
        int n = kLanes;
        if (bs - slot < n) n = bs - slot;
        if (seg_end - c0 < n) n = static_cast<int>(seg_end - c0);
        f(c0, b, slot, n);
        c0 += n;
      }
    };
    for_chunks([&](int64_t c0, int64_t b, int slot, int n) {
      prefetch_chunk<T>(t, b, slot, n);
      load_keys<T>(t, s, b, slot, n);
      for_row_blocks(rows, [&](int r0, auto nr) { score_rows<decltype(nr)::value>(t, s, r0, c0, n, c0 - seg0); });
    });
    for (int r = 0; r < rows; ++r) {
      const float corr = softmax_segment(s, r, seg_end - seg0);
      if (corr == 1.f) continue;
      float* acc = s.acc + r * hd_pad;
      const Vec c = vset1(corr);
      for (int64_t d = 0; d < hd_pad; d += kLanes) vstore(acc + d, vmul(vload(acc + d), c));
    }
    for_chunks([&](int64_t c0, int64_t b, int slot, int n) {
      load_values<T>(t, s, b, slot, n);
      for_row_blocks(rows, [&](int r0, auto nr) {
        constexpr int NR = decltype(nr)::value;
        // Two vectors of columns at a time (2 * NR FMA chains); hd_pad is a
        // whole number of 16 floats, so only AVX-512 can have one left over.
        int64_t d = 0;
        for (; d + 2 * kLanes <= hd_pad; d += 2 * kLanes) accumulate_cols<NR, 2>(s, hd_pad, r0, n, c0 - seg0, d);
        if (d < hd_pad) accumulate_cols<NR, 1>(s, hd_pad, r0, n, c0 - seg0, d);
      });
    });
  }
  for (int r = 0; r < rows; ++r) {
    const int token = r / t.n_heads, head = t.kv_head * t.group + t.head_begin + r % t.n_heads;
    float* out = t.out + token * t.q_stride + static_cast<int64_t>(head) * hd;
    const float* acc = s.acc + r * hd_pad;
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
