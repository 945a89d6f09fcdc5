// Counter-based hashing for dropout: a mask bit depends only on (seed, position in the epoch's
// order, layer, unit), never on which thread computes it, so masks do not change with the thread count.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nndl {

inline uint64_t mix64(uint64_t z) {  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline uint64_t dropout_row_key(uint32_t seed, uint64_t position, uint32_t layer) {
  return mix64(mix64((static_cast<uint64_t>(seed) << 32) ^ layer ^ 0x9E3779B97F4A7C15ULL) + position);
}

// xd[rows][n] = x · mask · scale; mask[rows][n] ∈ {0,1} keeps a unit with probability 1−p; scale is
// 1/(1−p) for inverted dropout, 1 for network3.py's. Row i is at position posBase + i.
void dropout_forward(const float* x, float* xd, uint8_t* mask, int rows, int n, float p, float scale, uint32_t seed,
                     uint64_t posBase, uint32_t layer);
// d[rows][n] *= mask · scale
void dropout_backward(float* d, const uint8_t* mask, size_t count, float scale);

}  // namespace nndl
