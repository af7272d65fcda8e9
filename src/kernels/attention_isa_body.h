// The attention tile kernel, written once over a small vector vocabulary that
// the including file defines for its instruction set (attention_avx2.cpp,
// attention_avx512.cpp) before including this, inside its anonymous namespace:
//   kLanes (keys per chunk = floats per vector), Vec, vzero, vset1, vload,
//   vstore, vadd, vmul, vfmadd (a * b + c), hmax, hsum, first_lane,
//   exp_nonpositive (exp(x) for x <= 0; 0 below about -87, NaN stays NaN),
//   load_halves (kLanes halfs -> floats), load_halves_partial (n < kLanes
//   halfs, the other lanes 0), load_floats_partial (the same for floats),
//   mask_keys (lanes >= n set to -infinity),
//   store_halves (kLanes floats -> halfs), store_halves_partial (n < kLanes).
// Everything here has internal linkage (see attention_isa.h for why).
//
// One tile: rows r = token * group + head-of-group. For each chunk of up to
// kLanes keys inside one KV block:
//   1. convert the chunk's K (stored transposed: one dimension's keys are
//      contiguous) and V rows from F16 once, into scratch;
//   2. scores of every row against the chunk: one vector per row, built by
//      broadcasting q[d] against the keys' dimension d (no horizontal sums);
//   3. online softmax: the row's running maximum m and sum l; the new maximum
//      rescales the old sum and accumulator by exp(m_old - m_new);
//   4. acc[r] = acc[r] * correction + sum over keys of p[r][key] * V[key].
// At the end out[r] = acc[r] / l[r].

constexpr int kRowBlock = 4;  // rows scored / accumulated together (8 FMA chains)

inline int64_t round_up16(int64_t x) { return (x + 15) / 16 * 16; }

struct TileScratch {
  float* kt;    // [head_dim][kLanes]: the chunk's keys, one vector per dimension
  float* vc;    // [kLanes][hd_pad]: the chunk's values, rows zero-padded
  float* p;     // [rows][kLanes]: exp(score - m) of the chunk
  float* acc;   // [rows][hd_pad]
  float* m;     // [rows] running maximum of the scaled scores
  float* l;     // [rows] running sum of exp(score - m)
  float* corr;  // [rows] this chunk's rescale factor exp(m_old - m_new)
};

TileScratch carve(float* base, int64_t rows, int64_t head_dim) {
  const int64_t hd_pad = round_up16(head_dim), rows_pad = round_up16(rows);
  TileScratch s;
  s.kt = base;
  s.vc = s.kt + head_dim * 16;
  s.p = s.vc + 16 * hd_pad;
  s.acc = s.p + rows * 16;
  s.m = s.acc + rows * hd_pad;
  s.l = s.m + rows_pad;
  s.corr = s.l + rows_pad;
  return s;
}

// Scores rows [r0, r0 + NR) against the chunk's n keys starting at position
// c0, and folds them into the running softmax state.
template <int NR>
void score_rows(const AttentionTile& t, const TileScratch& s, int r0, int64_t c0, int n) {
  const int hd = t.head_dim;
  const float* q[NR];
  int valid[NR];
  for (int j = 0; j < NR; ++j) {
    const int r = r0 + j, token = r / t.group, head = t.kv_head * t.group + r % t.group;
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
  for (int j = 0; j < NR; ++j) {
    const int r = r0 + j;
    float* p = s.p + r * kLanes;
    if (valid[j] == 0) {  // the whole chunk lies after this row's position
      vstore(p, vzero());
      s.corr[r] = 1.f;
      continue;
    }
    const Vec score = mask_keys(vmul(vadd(even[j], odd[j]), scale), valid[j]);
    const float m_old = s.m[r];
    const float chunk_max = hmax(score);
    const float m_new = chunk_max > m_old ? chunk_max : m_old;
    // Once the maximum settles most chunks leave it unchanged: no exponential
    // then. m_old is -infinity before the first chunk: exp_nonpositive clamps, giving 0.
    const float corr = m_new == m_old ? 1.f : first_lane(exp_nonpositive(vset1(m_old - m_new)));
    const Vec e = exp_nonpositive(vadd(score, vset1(-m_new)));  // masked lanes: exp(-inf) = 0
    vstore(p, e);
    s.l[r] = s.l[r] * corr + hsum(e);
    s.m[r] = m_new;
    s.corr[r] = corr;
  }
}

// Columns [d, d + NV * kLanes) of acc[r] for rows [r0, r0 + NR):
// acc[r] = acc[r] * corr[r] + sum over the chunk's n keys of p[r][c] * V[c].
template <int NR, int NV>
void accumulate_cols(const TileScratch& s, int64_t hd_pad, int r0, int n, int64_t d) {
  Vec a[NR][NV];
  for (int j = 0; j < NR; ++j) {
    const float* acc = s.acc + (r0 + j) * hd_pad + d;
    const Vec corr = vset1(s.corr[r0 + j]);
    for (int i = 0; i < NV; ++i) a[j][i] = vmul(vload(acc + i * kLanes), corr);
  }
  for (int c = 0; c < n; ++c) {
    const float* vrow = s.vc + c * hd_pad + d;
    Vec v[NV];
    for (int i = 0; i < NV; ++i) v[i] = vload(vrow + i * kLanes);
    for (int j = 0; j < NR; ++j) {
      const Vec pj = vset1(s.p[(r0 + j) * kLanes + c]);
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

// Converts the chunk (n keys from slot `slot` of block `b`) into scratch; T is
// the cache's element type (uint16_t for F16, float).
template <typename T>
void load_chunk(const AttentionTile& t, const TileScratch& s, int64_t b, int slot, int n) {
  const int hd = t.head_dim, bs = t.block_size;
  const int64_t hd_pad = round_up16(hd);
  const T* k = static_cast<const T*>(t.k_blocks[b]) + static_cast<int64_t>(t.kv_head) * hd * bs + slot;
  for (int d = 0; d < hd; ++d) {
    const T* kd = k + static_cast<int64_t>(d) * bs;
    vstore(s.kt + d * kLanes, n == kLanes ? load_elements(kd) : load_elements_partial(kd, n));
  }
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

template <void (*F1)(const AttentionTile&, const TileScratch&, int, int64_t, int),
          void (*F2)(const AttentionTile&, const TileScratch&, int, int64_t, int),
          void (*F3)(const AttentionTile&, const TileScratch&, int, int64_t, int),
          void (*F4)(const AttentionTile&, const TileScratch&, int, int64_t, int)>
void for_row_blocks(int rows, const AttentionTile& t, const TileScratch& s, int64_t c0, int n) {
  int r = 0;
  for (; r + kRowBlock <= rows; r += kRowBlock) F4(t, s, r, c0, n);
  switch (rows - r) {
    case 3: F3(t, s, r, c0, n); break;
    case 2: F2(t, s, r, c0, n); break;
    case 1: F1(t, s, r, c0, n); break;
    default: break;
  }
}

// Two vectors of columns at a time (2 * NR FMA chains); hd_pad is a whole
// number of 16 floats, so only AVX-512 can have one vector left over.
template <int NR>
void accumulate_block(const AttentionTile& t, const TileScratch& s, int r0, int64_t, int n) {
  const int64_t hd_pad = round_up16(t.head_dim);
  int64_t d = 0;
  for (; d + 2 * kLanes <= hd_pad; d += 2 * kLanes) accumulate_cols<NR, 2>(s, hd_pad, r0, n, d);
  if (d < hd_pad) accumulate_cols<NR, 1>(s, hd_pad, r0, n, d);
}

void attention_tile(const AttentionTile& t) {
  const int rows = t.n_tokens * t.group;
  if (rows <= 0) return;
  const int hd = t.head_dim, bs = t.block_size;
  const int64_t hd_pad = round_up16(hd);
  const TileScratch s = carve(t.scratch, rows, hd);
  for (int64_t i = 0; i < rows * hd_pad; ++i) s.acc[i] = 0.f;
  for (int r = 0; r < rows; ++r) {
    s.m[r] = -__builtin_inff();
    s.l[r] = 0.f;
  }
  const int64_t end = t.first_pos + t.n_tokens;  // keys [0, end) are seen by some row
  for (int64_t c0 = 0; c0 < end;) {
    const int64_t b = c0 / bs;
    const int slot = static_cast<int>(c0 % bs);
    int n = kLanes;
    if (bs - slot < n) n = bs - slot;
    if (end - c0 < n) n = static_cast<int>(end - c0);
    if (t.f32)
      load_chunk<float>(t, s, b, slot, n);
    else
      load_chunk<uint16_t>(t, s, b, slot, n);
    for_row_blocks<score_rows<1>, score_rows<2>, score_rows<3>, score_rows<4>>(rows, t, s, c0, n);
    for_row_blocks<accumulate_block<1>, accumulate_block<2>, accumulate_block<3>, accumulate_block<4>>(rows, t, s,
                                                                                                      c0, n);
    c0 += n;
  }
  for (int r = 0; r < rows; ++r) {
    const int token = r / t.group, head = t.kv_head * t.group + r % t.group;
    float* out = t.out + token * t.q_stride + static_cast<int64_t>(head) * hd;
    const float* acc = s.acc + r * hd_pad;
    const float inv = 1.f / s.l[r];
    for (int d = 0; d < hd; ++d) out[d] = acc[d] * inv;
  }
}

// Row conversion to F16 with the including file's vector conversion.
void fp32_to_fp16_row(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_halves(y + i, vload(x + i));
  if (i < n) store_halves_partial(y + i, x + i, static_cast<int>(n - i));
}
