// Fully connected layer: a = f(x·Wᵀ + b); W is [out][in] row-major, x is [rows][in].
#pragma once
#include "activation.h"

namespace nndl {

// x[rows][in], W[out][in], b[out] -> a[rows][out].
void dense_forward(const float* x, const float* W, const float* b, float* a, int rows, int in, int out, Act act);
// dz[rows][out] = dC/dz. Writes dW[out][in] = dzᵀ·x and db[out] = Σ_rows dz (both overwritten);
// when dx is not null writes dx[rows][in] = dz·W.
void dense_backward(const float* x, const float* W, const float* dz, float* dW, float* db, float* dx, int rows,
                    int in, int out);

}  // namespace nndl
