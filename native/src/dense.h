// Fully connected layer: a = f(x·Wᵀ + b); W is [out][in] row-major, x is [rows][in].
#pragma once
#include "activation.h"

namespace nndl {

// x[rows][in], W[out][in], b[out] -> a[rows][out] = f(alpha·x·Wᵀ + b) (alpha ≠ 1: network3's
// dropout scaling at inference).
void dense_forward(const float* x, const float* W, const float* b, float* a, int rows, int in, int out, Act act,
                   float alpha = 1.f);
// dz[rows][out] = dC/dz. Writes dW[out][in] = alpha·dzᵀ·x and db[out] = Σ_rows dz (both overwritten);
// when dx is not null writes dx[rows][in] = alpha·dz·W.
void dense_backward(const float* x, const float* W, const float* dz, float* dW, float* db, float* dx, int rows,
                    int in, int out, float alpha = 1.f);

// Plain SGD for big dense layers without materialising dW (saves two passes over the weights).
// First each thread's slice: db (overwritten) and, when dx is not null, dx = dz·W with the old W.
void dense_backward_partial(const float* W, const float* dz, float* db, float* dx, int rows, int in, int out);

struct DenseSlice {
  const float* x;   // [rows][in] layer input
  const float* dz;  // [rows][out] dC/dz
  int rows;
};
// Then rows [o0, o1) of W ← (1 − η·l2)·W − η·invM·Σ_k dz_kᵀ·x_k, the slices added in order. Returns
// the squared norm of those rows of the mean gradient invM·Σ_k dz_kᵀ·x_k, from the Gram matrices of
// dz and x (m² work: meant for mini-batches of tens).
double dense_update_rows(const DenseSlice* slices, int nslices, float* W, int in, int out, int o0, int o1, float eta,
                         float l2, float invM);

// One thread's whole backward + plain-SGD step of a big dense layer in one sweep over W (instead of
// one for dx and another, read and write, for the step): db (overwritten) = Σ_rows dz; when dx is not
// null dx = dz·W with the old W; then W ← (1 − η·l2)·W − η·invM·dzᵀ·x. Returns ‖invM·dzᵀ·x‖²_F (from
// the Gram matrices, as dense_update_rows). Up to kStepSweepRows rows in the one sweep; more rows
// take dense_backward_partial + dense_update_rows (the same result up to rounding).
constexpr int kStepSweepRows = 12;
double dense_backward_step(const float* x, float* W, const float* dz, float* db, float* dx, int rows, int in, int out,
                           float eta, float l2, float invM);
// Its naive reference (double accumulation; the same contract).
double dense_backward_step_ref(const float* x, float* W, const float* dz, float* db, float* dx, int rows, int in,
                               int out, float eta, float l2, float invM);

}  // namespace nndl
