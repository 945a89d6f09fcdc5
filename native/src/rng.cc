// Dropout with hashed masks (see rng.h): inverted (scale 1/(1−p)) or network3.py's (scale 1).
#include "rng.h"

#include <cmath>

namespace nndl {

void dropout_forward(const float* x, float* xd, uint8_t* mask, int rows, int n, float p, float scale, uint32_t seed,
                     uint64_t posBase, uint32_t layer) {
  // keep a unit when its 32-bit hash is at or above p·2³²
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(static_cast<double>(p), 32));
  for (int r = 0; r < rows; ++r) {
    const uint64_t key = dropout_row_key(seed, posBase + r, layer);
    const float* xr = x + static_cast<size_t>(r) * n;
    float* dr = xd + static_cast<size_t>(r) * n;
    uint8_t* mr = mask + static_cast<size_t>(r) * n;
    for (int u = 0; u < n; ++u) {
      const uint8_t keep = (mix64(key + static_cast<uint64_t>(u) * 0xD1B54A32D192ED03ULL) >> 32) >= threshold;
      mr[u] = keep;
      dr[u] = keep ? xr[u] * scale : 0.f;
    }
  }
}

void dropout_backward(float* d, const uint8_t* mask, size_t count, float scale) {
  for (size_t i = 0; i < count; ++i) d[i] = mask[i] ? d[i] * scale : 0.f;
}

}  // namespace nndl
