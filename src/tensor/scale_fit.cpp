// Least-squares scale searches for K-quant sub-blocks (see scale_fit.h).
//
// For a fixed rounding q, the best scale (and offset) is a closed-form least-squares
// solution; what is hard is choosing q. Starting from the plain "largest element
// hits the last level" scale misses most of the gain: slightly larger or smaller
// scales trade clipping of the extreme element for finer steps everywhere else. So
// each fit tries a grid of candidate scales around that start, keeps the rounding
// whose least-squares error is smallest, and then alternates re-rounding with the
// refitted scale until the error stops improving.
#include "tensor/scale_fit.h"

#include <cmath>

#include "tensor/block_codecs.h"

namespace ridge::tensor::codec {
namespace {

// Below this magnitude a sub-block is stored as zero: its scale would underflow
// the f16 super-block scale anyway.
constexpr float kNegligible = 1e-30f;

// Candidate "levels reached by the extreme element" relative to nmax: a fine
// additive sweep near nmax and a coarser multiplicative one below it (clipping
// pays off most for the 2-, 3- and 4-bit grids).
template <typename Visit>
void for_each_candidate_target(int nmax, Visit&& visit) {
  for (int step = -10; step <= 10; ++step) visit(static_cast<float>(nmax) + 0.1f * static_cast<float>(step));
  for (int step = 1; step <= 8; ++step) visit(static_cast<float>(nmax) * (1.0f - 0.04f * static_cast<float>(step)));
}

}  // namespace

float fit_symmetric_scale(const float* x, int n, int nmax) {
  float amax = 0.0f, extreme = 0.0f;
  double sum_x2 = 0.0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
    sum_x2 += static_cast<double>(x[i]) * x[i];
  }
  if (!(amax >= kNegligible) || !std::isfinite(amax) || !std::isfinite(sum_x2)) return 0.0f;

  // For a rounding q the error is sum x^2 - (sum xq)^2 / sum q^2, so the best q
  // maximizes gain = (sum xq)^2 / sum q^2, with scale = sum xq / sum q^2.
  double best_gain = 0.0;
  float best_scale = 0.0f;
  auto try_inverse_scale = [&](float inverse_scale) {
    double sum_xq = 0.0, sum_q2 = 0.0;
    for (int i = 0; i < n; ++i) {
      const int q = round_even_clamped(inverse_scale * x[i], -nmax, nmax - 1);
      sum_xq += static_cast<double>(x[i]) * q;
      sum_q2 += static_cast<double>(q) * q;
    }
    if (sum_q2 <= 0.0) return false;
    const double gain = sum_xq * sum_xq / sum_q2;
    if (!(gain > best_gain)) return false;
    best_gain = gain;
    best_scale = static_cast<float>(sum_xq / sum_q2);
    return true;
  };
  for_each_candidate_target(nmax, [&](float target) { try_inverse_scale(-target / extreme); });
  for (int iteration = 0; iteration < 8 && best_scale != 0.0f; ++iteration)
    if (!try_inverse_scale(1.0f / best_scale)) break;
  return best_scale;
}

float fit_affine_scale(const float* x, int n, int nmax, float& offset) {
  float min = x[0], max = x[0];
  for (int i = 1; i < n; ++i) {
    min = std::fmin(min, x[i]);
    max = std::fmax(max, x[i]);
  }
  if (min > 0.0f) min = 0.0f;  // the offset may only shift down: 0 must stay on the grid
  offset = 0.0f;
  if (!std::isfinite(min) || !std::isfinite(max)) return 0.0f;
  if (!(max - min >= kNegligible)) {
    offset = -min;
    return 0.0f;
  }

  // x ~= scale * q + shift, shift = -offset <= 0. Any candidate beats "all at min".
  double best_error = HUGE_VAL;
  float best_scale = 0.0f, best_shift = min;

  // Rounds x against (inverse_scale, shift), solves the 2x2 normal equations for
  // the best scale and shift of that rounding, and keeps it if it beats the best.
  auto try_rounding = [&](float inverse_scale, float shift) {
    int q[kMaxFitElements];
    double sum_q = 0.0, sum_q2 = 0.0, sum_x = 0.0, sum_xq = 0.0;
    for (int i = 0; i < n; ++i) {
      q[i] = round_even_clamped(inverse_scale * (x[i] - shift), 0, nmax);
      sum_q += q[i];
      sum_q2 += static_cast<double>(q[i]) * q[i];
      sum_x += x[i];
      sum_xq += static_cast<double>(x[i]) * q[i];
    }
    const double det = n * sum_q2 - sum_q * sum_q;
    double scale, fitted_shift;
    if (det > 0.0) {
      scale = (n * sum_xq - sum_q * sum_x) / det;
      fitted_shift = (sum_x - scale * sum_q) / n;
    } else {
      scale = 0.0;
      fitted_shift = 1.0;  // forces the constrained fit below
    }
    if (fitted_shift > 0.0) {  // a positive shift is not representable: fit the scale alone
      if (sum_q2 <= 0.0) return false;
      fitted_shift = 0.0;
      scale = sum_xq / sum_q2;
    }
    if (!(scale > 0.0)) return false;
    double error = 0.0;
    for (int i = 0; i < n; ++i) {
      const double residual = x[i] - (scale * q[i] + fitted_shift);
      error += residual * residual;
    }
    if (!(error < best_error)) return false;
    best_error = error;
    best_scale = static_cast<float>(scale);
    best_shift = static_cast<float>(fitted_shift);
    return true;
  };
  const float range = max - min;
  for_each_candidate_target(nmax, [&](float target) { try_rounding(target / range, min); });
  for (int iteration = 0; iteration < 8 && best_scale > 0.0f; ++iteration)
    if (!try_rounding(1.0f / best_scale, best_shift)) break;

  offset = -best_shift;
  return best_scale;
}

}  // namespace ridge::tensor::codec
