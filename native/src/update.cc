// One pass over a parameter range: reduce the threads' gradient parts, regularise, step, and
// accumulate the squared norm (so the norm costs no extra pass over memory).
#include "update.h"

namespace nndl {

namespace {
// 16 floats per step; GCC lowers this to one zmm (AVX-512), two ymm or four xmm registers.
typedef float vf __attribute__((vector_size(64)));
typedef int vi __attribute__((vector_size(64)));
constexpr size_t VL = 16;
inline vf loadv(const float* p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
inline void storev(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
inline float sign(float x) { return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f); }

template <int NP, bool HasV, bool HasL1>
double update_impl(float* w, float* v, const float* const* parts, int nparts, size_t n, const UpdateParams& u,
                   bool regularize) {
  const float eta = u.eta, mu = u.momentum, l2 = regularize ? u.l2 : 0.f, l1 = regularize ? u.l1 : 0.f;
  const float invM = u.invM;
  const int np = NP > 0 ? NP : nparts;
  vf acc = {};
  size_t i = 0;
  for (; i + VL <= n; i += VL) {
    vf s = loadv(parts[0] + i);
    for (int t = 1; t < np; ++t) s += loadv(parts[t] + i);
    const vf gm = s * invM;
    acc += gm * gm;
    const vf wv = loadv(w + i);
    vf g = gm + l2 * wv;
    if (HasL1) {
      // vector compares give -1 (true) / 0: sign(w) = [w < 0] − [w > 0] in that encoding
      const vf sg = __builtin_convertvector((vi)(wv < 0.f), vf) - __builtin_convertvector((vi)(wv > 0.f), vf);
      g += l1 * sg;
    }
    if (HasV) {
      const vf vv = mu * loadv(v + i) - eta * g;
      storev(v + i, vv);
      storev(w + i, wv + vv);
    } else {
      storev(w + i, wv - eta * g);
    }
  }
  double sq = 0;
  for (size_t k = 0; k < VL; ++k) sq += acc[k];
  for (; i < n; ++i) {
    float s = parts[0][i];
    for (int t = 1; t < np; ++t) s += parts[t][i];
    const float gm = s * invM;
    sq += static_cast<double>(gm) * gm;
    float g = gm + l2 * w[i];
    if (HasL1) g += l1 * sign(w[i]);
    if (HasV) {
      v[i] = mu * v[i] - eta * g;
      w[i] += v[i];
    } else {
      w[i] -= eta * g;
    }
  }
  return sq;
}

template <int NP>
double dispatch(float* w, float* v, const float* const* parts, int nparts, size_t n, const UpdateParams& u,
                bool regularize) {
  const bool l1 = regularize && u.l1 != 0.f;
  if (v) return l1 ? update_impl<NP, true, true>(w, v, parts, nparts, n, u, regularize)
                   : update_impl<NP, true, false>(w, v, parts, nparts, n, u, regularize);
  return l1 ? update_impl<NP, false, true>(w, v, parts, nparts, n, u, regularize)
            : update_impl<NP, false, false>(w, v, parts, nparts, n, u, regularize);
}
}  // namespace

double sgd_update(float* w, float* v, const float* const* parts, int nparts, size_t n, const UpdateParams& u,
                  bool regularize) {
  if (nparts == 1) return dispatch<1>(w, v, parts, 1, n, u, regularize);
  if (nparts == 2) return dispatch<2>(w, v, parts, 2, n, u, regularize);
  return dispatch<0>(w, v, parts, nparts, n, u, regularize);
}

}  // namespace nndl
