// Dense layer forward/backward as GEMMs, bias and activation fused into one pass over the output.
#include "dense.h"

#include <cstring>
#include <vector>

#include "gemm.h"
#include "simd.h"

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

namespace {
// ‖invM·Σ_slices dz_kᵀ·x_k‖² over rows [o0, o1) of the product, from the Gram matrices of dz and x.
double gram_norm(const DenseSlice* slices, int nslices, int in, int out, int o0, int o1, float invM) {
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
  return sq * invM * invM;
}
}  // namespace

double dense_update_rows(const DenseSlice* slices, int nslices, float* W, int in, int out, int o0, int o1, float eta,
                         float l2, float invM) {
  if (o1 <= o0) return 0;
  const double sq = gram_norm(slices, nslices, in, out, o0, o1, invM);
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
  return sq;
}

namespace {
constexpr int SVL = kFloatLanes;
typedef vfloat sv16;
typedef float sv8 __attribute__((vector_size(SVL / 2 * sizeof(float))));
typedef float sv4 __attribute__((vector_size(4 * sizeof(float))));
template <typename V>
inline V ldv(const float* p) { V v; std::memcpy(&v, p, sizeof v); return v; }
template <typename V>
inline void stv(float* p, V v) { std::memcpy(p, &v, sizeof v); }

// Columns [j0, j0 + lanes(V)) of the sweep: the MM rows of x (and of dx's accumulators) stay in
// registers while W's column block streams by, row o of W read once and written once.
// dzT is dz transposed ([out][MM]): the MM coefficients of row o side by side.
template <int MM, bool DX, typename V>
void step_block(const float* x, float* W, const float* dzT, float* dx, int in, int out, int j0, float c, float decay) {
  V xr[MM], acc[MM];
  for (int r = 0; r < MM; ++r) {
    xr[r] = ldv<V>(x + static_cast<size_t>(r) * in + j0);
    acc[r] = V{};
  }
  float* wp = W + j0;
  for (int o = 0; o < out; ++o, wp += in) {
    const V w = ldv<V>(wp);
    const float* d = dzT + static_cast<size_t>(o) * MM;
    V u = d[0] * xr[0];
    if (DX) acc[0] += d[0] * w;
    for (int r = 1; r < MM; ++r) {
      u += d[r] * xr[r];
      if (DX) acc[r] += d[r] * w;
    }
    stv<V>(wp, c * u + decay * w);
  }
  if (DX)
    for (int r = 0; r < MM; ++r) stv<V>(dx + static_cast<size_t>(r) * in + j0, acc[r]);
}

template <int MM, bool DX>
void step_sweep(const float* x, float* W, const float* dzT, float* dx, int in, int out, float c, float decay) {
  constexpr int L8 = sizeof(sv8) / sizeof(float), L4 = sizeof(sv4) / sizeof(float);
  int j = 0;
  for (; j + SVL <= in; j += SVL) step_block<MM, DX, sv16>(x, W, dzT, dx, in, out, j, c, decay);
  if (j + L8 <= in) { step_block<MM, DX, sv8>(x, W, dzT, dx, in, out, j, c, decay); j += L8; }
  if (L4 < L8 && j + L4 <= in) { step_block<MM, DX, sv4>(x, W, dzT, dx, in, out, j, c, decay); j += L4; }
  for (; j < in; ++j) step_block<MM, DX, float>(x, W, dzT, dx, in, out, j, c, decay);
}

template <int MM>
void step_rows(const float* x, float* W, const float* dzT, float* dx, int in, int out, float c, float decay) {
  if (dx) step_sweep<MM, true>(x, W, dzT, dx, in, out, c, decay);
  else step_sweep<MM, false>(x, W, dzT, dx, in, out, c, decay);
}

void bias_sum(const float* dz, float* db, int rows, int out) {
  std::memset(db, 0, sizeof(float) * out);
  for (int r = 0; r < rows; ++r) {
    const float* d = dz + static_cast<size_t>(r) * out;
    for (int o = 0; o < out; ++o) db[o] += d[o];
  }
}
}  // namespace

double dense_backward_step(const float* x, float* W, const float* dz, float* db, float* dx, int rows, int in, int out,
                           float eta, float l2, float invM) {
  if (rows > kStepSweepRows || rows < 1) {
    dense_backward_partial(W, dz, db, dx, rows, in, out);
    const DenseSlice slice{x, dz, rows};
    return dense_update_rows(&slice, 1, W, in, out, 0, out, eta, l2, invM);
  }
  bias_sum(dz, db, rows, out);
  const DenseSlice slice{x, dz, rows};
  const double sq = gram_norm(&slice, 1, in, out, 0, out, invM);
  thread_local std::vector<float> dzT;
  if (dzT.size() < static_cast<size_t>(out) * rows) dzT.resize(static_cast<size_t>(out) * rows);
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) dzT[static_cast<size_t>(o) * rows + r] = dz[static_cast<size_t>(r) * out + o];
  const float c = -eta * invM, decay = 1.f - eta * l2;
  switch (rows) {
#define NNDL_CASE(m) \
  case m: step_rows<m>(x, W, dzT.data(), dx, in, out, c, decay); break;
    NNDL_CASE(1) NNDL_CASE(2) NNDL_CASE(3) NNDL_CASE(4) NNDL_CASE(5) NNDL_CASE(6)
    NNDL_CASE(7) NNDL_CASE(8) NNDL_CASE(9) NNDL_CASE(10) NNDL_CASE(11) NNDL_CASE(12)
#undef NNDL_CASE
    default: break;
  }
  return sq;
}

double dense_backward_step_ref(const float* x, float* W, const float* dz, float* db, float* dx, int rows, int in,
                               int out, float eta, float l2, float invM) {
  for (int o = 0; o < out; ++o) {
    double s = 0;
    for (int r = 0; r < rows; ++r) s += dz[static_cast<size_t>(r) * out + o];
    db[o] = static_cast<float>(s);
  }
  if (dx)
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < in; ++i) {
        double s = 0;
        for (int o = 0; o < out; ++o) s += static_cast<double>(dz[static_cast<size_t>(r) * out + o]) * W[static_cast<size_t>(o) * in + i];
        dx[static_cast<size_t>(r) * in + i] = static_cast<float>(s);
      }
  double sq = 0;
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) {
      double g = 0;
      for (int r = 0; r < rows; ++r)
        g += static_cast<double>(dz[static_cast<size_t>(r) * out + o]) * x[static_cast<size_t>(r) * in + i];
      g *= invM;
      sq += g * g;
      float& w = W[static_cast<size_t>(o) * in + i];
      w = static_cast<float>((1.0 - static_cast<double>(eta) * l2) * w - static_cast<double>(eta) * g);
    }
  return sq;
}

}  // namespace nndl
