#pragma once
// Internal to tensor/: least-squares searches for a sub-block's scale (and offset)
// on a small integer grid. The K-quant quantizers fit every sub-block with these,
// then quantize the fitted scales themselves into the super-block header.
#include <cstdint>

namespace ridge::tensor::codec {

// Sub-blocks hold at most this many elements (K-quants use 16 or 32).
inline constexpr int kMaxFitElements = 32;

// Fits x[i] ~= scale * q[i] with integer q in [-nmax, nmax - 1], minimizing the
// squared error: a grid of candidate scales, each followed by the least-squares
// scale for its rounding, then alternating rounding and least squares. The extra
// negative level goes to the element of largest magnitude, so the scale has the
// opposite sign of that element. Returns 0 when the sub-block is (near) zero or
// no finite fit exists. n <= kMaxFitElements.
float fit_symmetric_scale(const float* x, int n, int nmax);

// Fits x[i] ~= scale * q[i] - offset with integer q in [0, nmax], scale >= 0 and
// offset >= 0 (0 stays representable, which the K-quant "min" fields assume),
// minimizing the squared error the same way. Returns the scale, sets `offset`.
float fit_affine_scale(const float* x, int n, int nmax, float& offset);

}  // namespace ridge::tensor::codec
