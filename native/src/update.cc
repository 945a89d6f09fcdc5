// One pass over a parameter range: reduce the threads' gradient parts, regularise, step, and
// accumulate the squared norm (so the norm costs no extra pass over memory).
#include "update.h"

namespace nndl {

namespace {
inline float sign(float x) { return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f); }

template <int NP>
double update_impl(float* __restrict w, float* __restrict v, const float* const* parts, int nparts, size_t n,
                   const UpdateParams& u, bool regularize) {
  const float eta = u.eta, mu = u.momentum, l2 = regularize ? u.l2 : 0.f, l1 = regularize ? u.l1 : 0.f;
  const float invM = u.invM;
  double sq = 0;
  float sqf = 0.f;  // float partial sums, flushed to double every block (vectorisable)
  const int np = NP > 0 ? NP : nparts;
  for (size_t i = 0; i < n; ++i) {
    float s = parts[0][i];
    for (int t = 1; t < np; ++t) s += parts[t][i];
    const float gm = s * invM;
    sqf += gm * gm;
    if ((i & 1023) == 1023) { sq += sqf; sqf = 0.f; }
    const float g = gm + l2 * w[i] + l1 * sign(w[i]);
    if (v) {
      v[i] = mu * v[i] - eta * g;
      w[i] += v[i];
    } else {
      w[i] -= eta * g;
    }
  }
  return sq + sqf;
}
}  // namespace

double sgd_update(float* w, float* v, const float* const* parts, int nparts, size_t n, const UpdateParams& u,
                  bool regularize) {
  if (nparts == 1) return update_impl<1>(w, v, parts, 1, n, u, regularize);
  if (nparts == 2) return update_impl<2>(w, v, parts, 2, n, u, regularize);
  return update_impl<0>(w, v, parts, nparts, n, u, regularize);
}

}  // namespace nndl
