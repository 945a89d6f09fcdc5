// Convolution k×k, stride 1, valid, NHWC, via im2col + GEMM.
// W is [F][k][k][C] row-major, so one im2col row [ky][kx][c] dots one filter directly.
#pragma once
#include "activation.h"

namespace nndl {

struct ConvShape {
  int H, W, C;  // input
  int F, K;     // filters, kernel size
  int OH() const { return H - K + 1; }
  int OW() const { return W - K + 1; }
  int P() const { return OH() * OW(); }      // output positions per example
  int KKC() const { return K * K * C; }      // im2col row length
};

// x[H][W][C] -> col[P][KKC]
void im2col(const ConvShape& s, const float* x, float* col);
// dx[H][W][C] += scatter of dcol[P][KKC]
void col2im_add(const ConvShape& s, const float* dcol, float* dx);

// x[rows][H][W][C] -> out[rows][OH][OW][F] = f(conv + b); col[rows·P][KKC] is scratch kept for backward.
void conv_forward(const ConvShape& s, const float* x, const float* W, const float* b, float* col, float* out,
                  int rows, Act act);
// dz[rows·P][F] = dC/dz. Writes dW[F][KKC] and, when db is not null, db[F] (overwritten); when dx is not null writes
// dx[rows][H][W][C] (overwritten). col (from conv_forward) is clobbered: it is reused for dcol.
void conv_backward(const ConvShape& s, float* col, const float* W, const float* dz, float* dW, float* db, float* dx,
                   int rows);

// Naive references (direct loops, double accumulation); z is pre-activation.
void conv_forward_ref(const ConvShape& s, const float* x, const float* W, const float* b, float* z, int rows);
void conv_backward_ref(const ConvShape& s, const float* x, const float* W, const float* dz, float* dW, float* db,
                       float* dx, int rows);

}  // namespace nndl
