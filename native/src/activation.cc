// Element-wise activations. The loops are written so GCC vectorises them (-O3 -march).
#include "activation.h"
#include "vocabulary.h"

#include <cmath>

namespace nndl {

bool parse_act(const std::string& s, Act* out) { return parse_named(kActivations, s, out); }

const char* act_name(Act a) { return name_of(kActivations, a); }

void bias_act_forward(Act act, float* z, const float* b, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = z + r * cols;
    if (b)
      for (size_t c = 0; c < cols; ++c) row[c] += b[c];
    switch (act) {
      case Act::Sigmoid:
        for (size_t c = 0; c < cols; ++c) row[c] = 1.f / (1.f + std::exp(-row[c]));
        break;
      case Act::Tanh:
        for (size_t c = 0; c < cols; ++c) row[c] = std::tanh(row[c]);
        break;
      case Act::Relu:
        for (size_t c = 0; c < cols; ++c) row[c] = row[c] > 0.f ? row[c] : 0.f;
        break;
      case Act::Linear:
        break;
      case Act::Softmax: {
        float mx = row[0];
        for (size_t c = 1; c < cols; ++c) mx = row[c] > mx ? row[c] : mx;
        float s = 0.f;
        for (size_t c = 0; c < cols; ++c) { row[c] = std::exp(row[c] - mx); s += row[c]; }
        const float inv = 1.f / s;
        for (size_t c = 0; c < cols; ++c) row[c] *= inv;
        break;
      }
    }
  }
}

void act_backward(Act act, const float* a, float* d, size_t n) {
  switch (act) {
    case Act::Sigmoid:
      for (size_t i = 0; i < n; ++i) d[i] *= a[i] * (1.f - a[i]);
      break;
    case Act::Tanh:
      for (size_t i = 0; i < n; ++i) d[i] *= 1.f - a[i] * a[i];
      break;
    case Act::Relu:
      for (size_t i = 0; i < n; ++i) d[i] = a[i] > 0.f ? d[i] : 0.f;
      break;
    case Act::Linear:
    case Act::Softmax:
      break;
  }
}

}  // namespace nndl
