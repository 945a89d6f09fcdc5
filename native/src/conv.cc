// im2col/col2im copy whole k·C runs (NHWC keeps a kernel row contiguous), then one GEMM per call
// covers every example of the slice.
#include "conv.h"

#include <cstring>
#include <vector>

#include "gemm.h"

namespace nndl {

namespace {
// Copies of one kernel row (k·C floats) with the length known at compile time for the common
// short runs (the first conv layer has C = 1, so runs of k floats).
template <int RUN>
void im2col_fixed(const ConvShape& s, const float* x, float* col) {
  const int OH = s.OH(), OW = s.OW(), kkc = s.KKC();
  for (int oy = 0; oy < OH; ++oy)
    for (int ox = 0; ox < OW; ++ox) {
      float* row = col + static_cast<size_t>(oy * OW + ox) * kkc;
      for (int ky = 0; ky < s.K; ++ky) {
        const float* src = x + (static_cast<size_t>(oy + ky) * s.W + ox) * s.C;
        float* dst = row + ky * RUN;
        for (int i = 0; i < RUN; ++i) dst[i] = src[i];
      }
    }
}
}  // namespace

void im2col(const ConvShape& s, const float* x, float* col) {
  const int run = s.K * s.C;
  switch (run) {
    case 3: im2col_fixed<3>(s, x, col); return;
    case 5: im2col_fixed<5>(s, x, col); return;
    case 7: im2col_fixed<7>(s, x, col); return;
    default: break;
  }
  const int OH = s.OH(), OW = s.OW(), kkc = s.KKC();
  for (int oy = 0; oy < OH; ++oy)
    for (int ox = 0; ox < OW; ++ox) {
      float* row = col + static_cast<size_t>(oy * OW + ox) * kkc;
      for (int ky = 0; ky < s.K; ++ky)
        std::memcpy(row + ky * run, x + (static_cast<size_t>(oy + ky) * s.W + ox) * s.C, sizeof(float) * run);
    }
}

void col2im_add(const ConvShape& s, const float* dcol, float* dx) {
  const int OH = s.OH(), OW = s.OW(), run = s.K * s.C, kkc = s.KKC();
  for (int oy = 0; oy < OH; ++oy)
    for (int ox = 0; ox < OW; ++ox) {
      const float* row = dcol + static_cast<size_t>(oy * OW + ox) * kkc;
      for (int ky = 0; ky < s.K; ++ky) {
        float* d = dx + (static_cast<size_t>(oy + ky) * s.W + ox) * s.C;
        const float* r = row + ky * run;
        for (int i = 0; i < run; ++i) d[i] += r[i];
      }
    }
}

void conv_forward(const ConvShape& s, const float* x, const float* W, const float* b, float* col, float* out,
                  int rows, Act act) {
  const size_t inSize = static_cast<size_t>(s.H) * s.W * s.C;
  const size_t colSize = static_cast<size_t>(s.P()) * s.KKC();
  for (int n = 0; n < rows; ++n) im2col(s, x + n * inSize, col + n * colSize);
  const int M = rows * s.P();
  // out[M][F] = col[M][KKC] · W[F][KKC]ᵀ
  sgemm(false, true, M, s.F, s.KKC(), 1.f, col, s.KKC(), W, s.KKC(), 0.f, out, s.F);
  bias_act_forward(act, out, b, M, s.F);
}

void conv_backward(const ConvShape& s, float* col, const float* W, const float* dz, float* dW, float* db, float* dx,
                   int rows) {
  const int M = rows * s.P(), kkc = s.KKC();
  // dW[F][KKC] = dz[M][F]ᵀ · col[M][KKC]
  sgemm(true, false, s.F, kkc, M, 1.f, dz, s.F, col, kkc, 0.f, dW, kkc);
  if (db) {
    std::memset(db, 0, sizeof(float) * s.F);
    for (int m = 0; m < M; ++m) {
      const float* d = dz + static_cast<size_t>(m) * s.F;
      for (int f = 0; f < s.F; ++f) db[f] += d[f];
    }
  }
  if (!dx) return;
  // dcol[M][KKC] = dz[M][F] · W[F][KKC], written over col
  sgemm(false, false, M, kkc, s.F, 1.f, dz, s.F, W, kkc, 0.f, col, kkc);
  const size_t inSize = static_cast<size_t>(s.H) * s.W * s.C;
  const size_t colSize = static_cast<size_t>(s.P()) * kkc;
  std::memset(dx, 0, sizeof(float) * inSize * rows);
  for (int n = 0; n < rows; ++n) col2im_add(s, col + n * colSize, dx + n * inSize);
}

void conv_forward_ref(const ConvShape& s, const float* x, const float* W, const float* b, float* z, int rows) {
  const int OH = s.OH(), OW = s.OW();
  for (int n = 0; n < rows; ++n)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox)
        for (int f = 0; f < s.F; ++f) {
          double acc = b[f];
          for (int ky = 0; ky < s.K; ++ky)
            for (int kx = 0; kx < s.K; ++kx)
              for (int c = 0; c < s.C; ++c)
                acc += static_cast<double>(x[((static_cast<size_t>(n) * s.H + oy + ky) * s.W + ox + kx) * s.C + c]) *
                       W[((static_cast<size_t>(f) * s.K + ky) * s.K + kx) * s.C + c];
          z[((static_cast<size_t>(n) * OH + oy) * OW + ox) * s.F + f] = static_cast<float>(acc);
        }
}

void conv_backward_ref(const ConvShape& s, const float* x, const float* W, const float* dz, float* dW, float* db,
                       float* dx, int rows) {
  const int OH = s.OH(), OW = s.OW();
  const size_t wSize = static_cast<size_t>(s.F) * s.KKC(), xSize = static_cast<size_t>(rows) * s.H * s.W * s.C;
  std::vector<double> gW(wSize, 0.0), gb(s.F, 0.0), gx(xSize, 0.0);
  for (int n = 0; n < rows; ++n)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox)
        for (int f = 0; f < s.F; ++f) {
          const double d = dz[((static_cast<size_t>(n) * OH + oy) * OW + ox) * s.F + f];
          gb[f] += d;
          for (int ky = 0; ky < s.K; ++ky)
            for (int kx = 0; kx < s.K; ++kx)
              for (int c = 0; c < s.C; ++c) {
                const size_t xi = ((static_cast<size_t>(n) * s.H + oy + ky) * s.W + ox + kx) * s.C + c;
                const size_t wi = ((static_cast<size_t>(f) * s.K + ky) * s.K + kx) * s.C + c;
                gW[wi] += d * x[xi];
                gx[xi] += d * W[wi];
              }
        }
  for (size_t i = 0; i < wSize; ++i) dW[i] = static_cast<float>(gW[i]);
  for (int f = 0; f < s.F; ++f) db[f] = static_cast<float>(gb[f]);
  if (dx)
    for (size_t i = 0; i < xSize; ++i) dx[i] = static_cast<float>(gx[i]);
}

}  // namespace nndl
