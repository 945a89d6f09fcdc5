// Batch normalisation of a conv layer's output, per channel (Ioffe & Szegedy 2015), NHWC:
// z[n][F] with n = rows · positions. Training normalises by the statistics of the examples at hand
// (one thread's slice of the mini-batch); inference by the running statistics kept in the
// parameters. Parameter block per layer (after the conv's W and b, where b serves as the shift β):
// γ[F], running mean[F], running variance[F].
#pragma once
#include <cstddef>

#include "activation.h"

namespace nndl {

constexpr float kBatchNormEps = 1e-5f;
// Running statistics: batch b of an epoch blends in with weight max(kBatchNormMomentum, 1/(b+1)),
// i.e. the plain mean of the epoch's first batches, then an exponential average over ~1/momentum
// batches (statistics of older weights are stale).
constexpr float kBatchNormMomentum = 0.01f;

// Training: mean/var of z's channels, hat = (z − mean)/√(var + eps) into hat, then
// out = act(γ·hat + β) (out may alias z). mean, var (biased) are written for the running averages.
void batch_norm_forward_train(const float* z, size_t n, int F, const float* gamma, const float* beta, float* hat,
                              float* out, float* mean, float* var, Act act);
// Inference: out = act(γ·(z − runMean)/√(runVar + eps) + β), in place.
void batch_norm_forward_infer(float* z, size_t n, int F, const float* gamma, const float* beta, const float* runMean,
                              const float* runVar, Act act);
// dz[n][F] holds dC/d(γ·hat + β) (the activation's derivative already applied); overwrites it with
// dC/dz through the batch statistics, and writes dγ, dβ (sums over the n rows).
void batch_norm_backward(float* dz, const float* hat, size_t n, int F, const float* gamma, const float* var,
                         float* dgamma, float* dbeta);

}  // namespace nndl
