// 2×2 pooling, stride 2, NHWC: max, l2 (sqrt of the sum of squares) or avg. A trailing odd
// row/column is ignored (as network3.py's ignore_border) and gets zero gradient.
#pragma once
#include <string>

namespace nndl {

enum class PoolMode { Max, L2, Avg };
bool parse_pool(const std::string& s, PoolMode* out);

struct PoolShape {
  int H, W, C;
  int OH() const { return H / 2; }
  int OW() const { return W / 2; }
};

// x[rows][H][W][C] -> y[rows][OH][OW][C]
void pool_forward(PoolMode mode, const PoolShape& s, const float* x, float* y, int rows);
// dx (overwritten) from dy; x and y are the forward input and output. Max routes to the first
// maximum in the order (0,0), (0,1), (1,0), (1,1).
void pool_backward(PoolMode mode, const PoolShape& s, const float* x, const float* y, const float* dy, float* dx,
                   int rows);

void pool_forward_ref(PoolMode mode, const PoolShape& s, const float* x, float* y, int rows);
void pool_backward_ref(PoolMode mode, const PoolShape& s, const float* x, const float* y, const float* dy, float* dx,
                       int rows);

}  // namespace nndl
