// Cost values and output-layer deltas. sigmoid+cross-entropy and softmax+log-likelihood use the
// book's simplified delta a−y; other pairs go through dC/da and the activation's derivative.
#include "cost.h"
#include "vocabulary.h"

#include <algorithm>
#include <cmath>

namespace nndl {

bool parse_cost(const std::string& s, Cost* out) { return parse_named(kCosts, s, out); }

namespace {
inline double safe_log(double x) { return std::log(std::max(x, kCostLogFloor)); }
}  // namespace

CostStats cost_eval(Cost cost, Act act, const float* a, const uint8_t* labels, size_t rows, size_t cols,
                    float* delta) {
  CostStats st;
  for (size_t r = 0; r < rows; ++r) {
    const float* ar = a + r * cols;
    const size_t y = labels[r];
    size_t best = 0;
    for (size_t c = 1; c < cols; ++c)
      if (ar[c] > ar[best]) best = c;
    if (best == y) ++st.correct;
    double cr = 0;
    switch (cost) {
      case Cost::Quadratic:
        for (size_t c = 0; c < cols; ++c) {
          const double d = ar[c] - (c == y ? 1.0 : 0.0);
          cr += 0.5 * d * d;
        }
        break;
      case Cost::CrossEntropy:
        for (size_t c = 0; c < cols; ++c) cr -= c == y ? safe_log(ar[c]) : safe_log(1.0 - ar[c]);
        break;
      case Cost::LogLikelihood:
        cr = -safe_log(ar[y]);
        break;
    }
    st.cost += cr;
    if (!delta) continue;
    float* dr = delta + r * cols;
    const bool simple = (cost == Cost::CrossEntropy && act == Act::Sigmoid) ||
                        (cost == Cost::LogLikelihood && act == Act::Softmax);
    if (simple || cost == Cost::Quadratic) {
      for (size_t c = 0; c < cols; ++c) dr[c] = ar[c] - (c == y ? 1.f : 0.f);
      if (simple) continue;
    } else if (cost == Cost::CrossEntropy) {
      for (size_t c = 0; c < cols; ++c) {
        const float t = c == y ? 1.f : 0.f;
        dr[c] = (ar[c] - t) / std::max(ar[c] * (1.f - ar[c]), kCostDerivativeFloor);
      }
    } else {  // log-likelihood without softmax
      for (size_t c = 0; c < cols; ++c) dr[c] = c == y ? -1.f / std::max(ar[c], kCostDerivativeFloor) : 0.f;
    }
    // dr holds dC/da; turn it into dC/dz.
    if (act == Act::Softmax) {
      float dot = 0.f;
      for (size_t c = 0; c < cols; ++c) dot += dr[c] * ar[c];
      for (size_t c = 0; c < cols; ++c) dr[c] = ar[c] * (dr[c] - dot);
    } else {
      act_backward(act, ar, dr, cols);
    }
  }
  return st;
}

}  // namespace nndl
