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

// Single-thread plain SGD for a big dense layer, without materialising dW (saves two passes over
// the weights): writes dx = dz·W with the old W (when dx is not null) and db (overwritten), then
// W ← (1 − η·l2)·W − (η/m)·dzᵀ·x. Returns ‖dzᵀ·x/m‖², the squared norm of the mean weight gradient
// (from the Gram matrices of dz and x, m² work).
double dense_backward_update(const float* x, float* W, const float* dz, float* db, float* dx, int rows, int in,
                             int out, float eta, float l2, float invM);

}  // namespace nndl
