// The SGD step, fused with the reduction of the per-thread gradients and the gradient norm.
#pragma once
#include <cstddef>

namespace nndl {

struct UpdateParams {
  float eta;       // learning rate
  float momentum;  // μ; with velocity null the step is plain SGD
  float l2, l1;    // already divided by n (training-set size)
  float invM;      // 1 / mini-batch size
};

// g = invM · Σ_t parts[t][i] (summed in t order, so the result is fixed for a fixed part count);
// for weights (regularize) g += l2·w + l1·sign(w); then v = μv − ηg, w += v (or w −= ηg without v).
// Returns Σ (invM·Σ_t parts)², the squared norm of the unregularised mean gradient.
double sgd_update(float* w, float* v, const float* const* parts, int nparts, size_t n, const UpdateParams& u,
                  bool regularize);

}  // namespace nndl
