// Dense layer forward/backward as GEMMs, bias and activation fused into one pass over the output.
#include "dense.h"

#include <cstring>

#include "gemm.h"

namespace nndl {

void dense_forward(const float* x, const float* W, const float* b, float* a, int rows, int in, int out, Act act,
                   float alpha) {
  // a[rows][out] = alpha · x[rows][in] · W[out][in]ᵀ
  sgemm(false, true, rows, out, in, alpha, x, in, W, in, 0.f, a, out);
  bias_act_forward(act, a, b, rows, out);
}

void dense_backward(const float* x, const float* W, const float* dz, float* dW, float* db, float* dx, int rows,
                    int in, int out, float alpha) {
  // dW[out][in] = alpha · dz[rows][out]ᵀ · x[rows][in]
  sgemm(true, false, out, in, rows, alpha, dz, out, x, in, 0.f, dW, in);
  std::memset(db, 0, sizeof(float) * out);
  for (int r = 0; r < rows; ++r) {
    const float* d = dz + static_cast<size_t>(r) * out;
    for (int o = 0; o < out; ++o) db[o] += d[o];
  }
  // dx[rows][in] = alpha · dz[rows][out] · W[out][in]
  if (dx) sgemm(false, false, rows, in, out, alpha, dz, out, W, in, 0.f, dx, in);
}

void dense_backward_partial(const float* W, const float* dz, float* db, float* dx, int rows, int in, int out) {
  std::memset(db, 0, sizeof(float) * out);
  for (int r = 0; r < rows; ++r) {
    const float* d = dz + static_cast<size_t>(r) * out;
    for (int o = 0; o < out; ++o) db[o] += d[o];
  }
  if (dx) sgemm(false, false, rows, in, out, 1.f, dz, out, W, in, 0.f, dx, in);
}

namespace {
// Float dot product in 16 independent lanes (vectorises; plenty for a monitoring norm), summed in double.
double dot(const float* a, const float* b, int n) {
  float acc[16] = {};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += a[i + l] * b[i + l];
  double s = 0;
  for (int l = 0; l < 16; ++l) s += acc[l];
  for (; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}
}  // namespace

double dense_update_rows(const DenseSlice* slices, int nslices, float* W, int in, int out, int o0, int o1, float eta,
                         float l2, float invM) {
  if (o1 <= o0) return 0;
  // ‖Σ_r dz_r[o0:o1] x_rᵀ‖²_F = Σ_{r,s} (dz_r·dz_s)(x_r·x_s), r and s over every row of every slice
  double sq = 0;
  for (int a = 0; a < nslices; ++a)
    for (int r = 0; r < slices[a].rows; ++r)
      for (int b = a; b < nslices; ++b)
        for (int s = (b == a ? r : 0); s < slices[b].rows; ++s) {
          const float* dr = slices[a].dz + static_cast<size_t>(r) * out;
          const float* ds = slices[b].dz + static_cast<size_t>(s) * out;
          const float* xr = slices[a].x + static_cast<size_t>(r) * in;
          const float* xs = slices[b].x + static_cast<size_t>(s) * in;
          sq += (a == b && r == s ? 1.0 : 2.0) * dot(dr + o0, ds + o0, o1 - o0) * dot(xr, xs, in);
        }
  float* Wr = W + static_cast<size_t>(o0) * in;
  bool decayed = false;  // the weight decay rides on the first product (beta)
  for (int k = 0; k < nslices; ++k) {
    if (slices[k].rows == 0) continue;
    sgemm(true, false, o1 - o0, in, slices[k].rows, -eta * invM, slices[k].dz + o0, out, slices[k].x, in,
          decayed ? 1.f : 1.f - eta * l2, Wr, in);
    decayed = true;
  }
  if (!decayed && l2 != 0.f)
    for (int o = o0; o < o1; ++o)
      for (int i = 0; i < in; ++i) W[static_cast<size_t>(o) * in + i] *= 1.f - eta * l2;
  return sq * invM * invM;
}

}  // namespace nndl
