// Dense layer forward/backward as GEMMs, bias and activation fused into one pass over the output.
#include "dense.h"

#include <cstring>

#include "gemm.h"

namespace nndl {

void dense_forward(const float* x, const float* W, const float* b, float* a, int rows, int in, int out, Act act) {
  // a[rows][out] = x[rows][in] · W[out][in]ᵀ
  sgemm(false, true, rows, out, in, 1.f, x, in, W, in, 0.f, a, out);
  bias_act_forward(act, a, b, rows, out);
}

void dense_backward(const float* x, const float* W, const float* dz, float* dW, float* db, float* dx, int rows,
                    int in, int out) {
  // dW[out][in] = dz[rows][out]ᵀ · x[rows][in]
  sgemm(true, false, out, in, rows, 1.f, dz, out, x, in, 0.f, dW, in);
  std::memset(db, 0, sizeof(float) * out);
  for (int r = 0; r < rows; ++r) {
    const float* d = dz + static_cast<size_t>(r) * out;
    for (int o = 0; o < out; ++o) db[o] += d[o];
  }
  // dx[rows][in] = dz[rows][out] · W[out][in]
  if (dx) sgemm(false, false, rows, in, out, 1.f, dz, out, W, in, 0.f, dx, in);
}

double dense_backward_update(const float* x, float* W, const float* dz, float* db, float* dx, int rows, int in,
                             int out, float eta, float l2, float invM) {
  std::memset(db, 0, sizeof(float) * out);
  for (int r = 0; r < rows; ++r) {
    const float* d = dz + static_cast<size_t>(r) * out;
    for (int o = 0; o < out; ++o) db[o] += d[o];
  }
  if (dx) sgemm(false, false, rows, in, out, 1.f, dz, out, W, in, 0.f, dx, in);
  // ‖Σ_r dz_r x_rᵀ‖²_F = Σ_{r,s} (dz_r·dz_s)(x_r·x_s)
  double sq = 0;
  for (int r = 0; r < rows; ++r)
    for (int s = r; s < rows; ++s) {
      double gd = 0, gx = 0;
      const float* dr = dz + static_cast<size_t>(r) * out;
      const float* ds = dz + static_cast<size_t>(s) * out;
      for (int o = 0; o < out; ++o) gd += static_cast<double>(dr[o]) * ds[o];
      const float* xr = x + static_cast<size_t>(r) * in;
      const float* xs = x + static_cast<size_t>(s) * in;
      for (int i = 0; i < in; ++i) gx += static_cast<double>(xr[i]) * xs[i];
      sq += (r == s ? 1.0 : 2.0) * gd * gx;
    }
  sgemm(true, false, out, in, rows, -eta * invM, dz, out, x, in, 1.f - eta * l2, W, in);
  return sq * invM * invM;
}

}  // namespace nndl
