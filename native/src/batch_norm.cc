// Per-channel sums in double (a slice holds up to ~10^5 values per channel), element loops in float.
#include "batch_norm.h"

#include <cmath>
#include <vector>

namespace nndl {

void batch_norm_forward_train(const float* z, size_t n, int F, const float* gamma, const float* beta, float* hat,
                              float* out, float* mean, float* var, Act act) {
  std::vector<double> s(F, 0.0), s2(F, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const float* row = z + i * F;
    for (int c = 0; c < F; ++c) s[c] += row[c];
  }
  for (int c = 0; c < F; ++c) mean[c] = static_cast<float>(s[c] / n);
  // the variance from deviations (two passes): E[z²] − E[z]² cancels badly for large means
  for (size_t i = 0; i < n; ++i) {
    const float* row = z + i * F;
    for (int c = 0; c < F; ++c) {
      const double d = row[c] - mean[c];
      s2[c] += d * d;
    }
  }
  std::vector<float> inv(F);
  for (int c = 0; c < F; ++c) {
    var[c] = static_cast<float>(s2[c] / n);
    inv[c] = 1.f / std::sqrt(var[c] + kBatchNormEps);
  }
  for (size_t i = 0; i < n; ++i) {
    const float* zr = z + i * F;
    float* hr = hat + i * F;
    float* orow = out + i * F;
    for (int c = 0; c < F; ++c) {
      const float h = (zr[c] - mean[c]) * inv[c];
      hr[c] = h;
      orow[c] = gamma[c] * h;
    }
  }
  bias_act_forward(act, out, beta, n, F);
}

void batch_norm_forward_infer(float* z, size_t n, int F, const float* gamma, const float* beta, const float* runMean,
                              const float* runVar, Act act) {
  std::vector<float> scale(F), shift(F);
  for (int c = 0; c < F; ++c) {
    scale[c] = gamma[c] / std::sqrt(runVar[c] + kBatchNormEps);
    shift[c] = beta[c] - runMean[c] * scale[c];
  }
  for (size_t i = 0; i < n; ++i) {
    float* row = z + i * F;
    for (int c = 0; c < F; ++c) row[c] *= scale[c];
  }
  bias_act_forward(act, z, shift.data(), n, F);
}

void batch_norm_backward(float* dz, const float* hat, size_t n, int F, const float* gamma, const float* var,
                         float* dgamma, float* dbeta) {
  std::vector<double> sg(F, 0.0), sb(F, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const float* d = dz + i * F;
    const float* h = hat + i * F;
    for (int c = 0; c < F; ++c) {
      sb[c] += d[c];
      sg[c] += static_cast<double>(d[c]) * h[c];
    }
  }
  // dC/dz = γ/σ · (d − mean(d) − hat · mean(d·hat)), with mean(d) = dβ/n and mean(d·hat) = dγ/n
  std::vector<float> k(F), mb(F), mg(F);
  for (int c = 0; c < F; ++c) {
    dgamma[c] = static_cast<float>(sg[c]);
    dbeta[c] = static_cast<float>(sb[c]);
    k[c] = gamma[c] / std::sqrt(var[c] + kBatchNormEps);
    mb[c] = static_cast<float>(sb[c] / n);
    mg[c] = static_cast<float>(sg[c] / n);
  }
  for (size_t i = 0; i < n; ++i) {
    float* d = dz + i * F;
    const float* h = hat + i * F;
    for (int c = 0; c < F; ++c) d[c] = k[c] * (d[c] - mb[c] - h[c] * mg[c]);
  }
}

}  // namespace nndl
