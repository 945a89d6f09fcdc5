// Pooling: the fast versions walk whole channel runs (contiguous in NHWC) so they vectorise;
// the references go element by element.
#include "pool.h"
#include "vocabulary.h"

#include <cmath>
#include <cstring>

namespace nndl {

bool parse_pool(const std::string& s, PoolMode* out) { return parse_named(kPoolModes, s, out); }

void pool_forward(PoolMode mode, const PoolShape& s, const float* x, float* y, int rows) {
  const int OH = s.OH(), OW = s.OW(), C = s.C;
  const size_t inSize = static_cast<size_t>(s.H) * s.W * C, outSize = static_cast<size_t>(OH) * OW * C;
  for (int n = 0; n < rows; ++n) {
    const float* xn = x + n * inSize;
    float* yn = y + n * outSize;
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox) {
        const float* p00 = xn + (static_cast<size_t>(2 * oy) * s.W + 2 * ox) * C;
        const float* p01 = p00 + C;
        const float* p10 = p00 + static_cast<size_t>(s.W) * C;
        const float* p11 = p10 + C;
        float* o = yn + (static_cast<size_t>(oy) * OW + ox) * C;
        switch (mode) {
          case PoolMode::Max:
            for (int c = 0; c < C; ++c) {
              const float a = p00[c] > p01[c] ? p00[c] : p01[c];
              const float b = p10[c] > p11[c] ? p10[c] : p11[c];
              o[c] = a > b ? a : b;
            }
            break;
          case PoolMode::L2:
            for (int c = 0; c < C; ++c)
              o[c] = std::sqrt(p00[c] * p00[c] + p01[c] * p01[c] + p10[c] * p10[c] + p11[c] * p11[c]);
            break;
          case PoolMode::Avg:
            for (int c = 0; c < C; ++c) o[c] = 0.25f * (p00[c] + p01[c] + p10[c] + p11[c]);
            break;
        }
      }
  }
}

void pool_backward(PoolMode mode, const PoolShape& s, const float* x, const float* y, const float* dy, float* dx,
                   int rows) {
  const int OH = s.OH(), OW = s.OW(), C = s.C;
  const size_t inSize = static_cast<size_t>(s.H) * s.W * C, outSize = static_cast<size_t>(OH) * OW * C;
  if ((s.H & 1) || (s.W & 1)) std::memset(dx, 0, sizeof(float) * inSize * rows);
  for (int n = 0; n < rows; ++n) {
    const float* xn = x + n * inSize;
    float* dxn = dx + n * inSize;
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox) {
        const size_t i00 = (static_cast<size_t>(2 * oy) * s.W + 2 * ox) * C, i01 = i00 + C;
        const size_t i10 = i00 + static_cast<size_t>(s.W) * C, i11 = i10 + C;
        const size_t oi = n * outSize + (static_cast<size_t>(oy) * OW + ox) * C;
        const float* o = y + oi;
        const float* g = dy + oi;
        switch (mode) {
          case PoolMode::Max:
            // branch-free (every input read, first maximum wins), so GCC vectorises the channel run
            for (int c = 0; c < C; ++c) {
              const float m = o[c], gc = g[c];
              const float a00 = xn[i00 + c], a01 = xn[i01 + c], a10 = xn[i10 + c];
              const bool e00 = a00 == m, e01 = a01 == m, e10 = a10 == m;
              const bool s01 = !e00 & e01, s10 = !e00 & !e01 & e10, s11 = !e00 & !e01 & !e10;
              dxn[i00 + c] = e00 ? gc : 0.f;
              dxn[i01 + c] = s01 ? gc : 0.f;
              dxn[i10 + c] = s10 ? gc : 0.f;
              dxn[i11 + c] = s11 ? gc : 0.f;
            }
            break;
          case PoolMode::L2:
            for (int c = 0; c < C; ++c) {
              const float k = o[c] > 0.f ? g[c] / o[c] : 0.f;
              dxn[i00 + c] = k * xn[i00 + c];
              dxn[i01 + c] = k * xn[i01 + c];
              dxn[i10 + c] = k * xn[i10 + c];
              dxn[i11 + c] = k * xn[i11 + c];
            }
            break;
          case PoolMode::Avg:
            for (int c = 0; c < C; ++c) {
              const float k = 0.25f * g[c];
              dxn[i00 + c] = k;
              dxn[i01 + c] = k;
              dxn[i10 + c] = k;
              dxn[i11 + c] = k;
            }
            break;
        }
      }
  }
}

namespace {
inline size_t at(const PoolShape& s, int n, int yy, int xx, int c) {
  return ((static_cast<size_t>(n) * s.H + yy) * s.W + xx) * s.C + c;
}
}  // namespace

void pool_forward_ref(PoolMode mode, const PoolShape& s, const float* x, float* y, int rows) {
  const int OH = s.OH(), OW = s.OW();
  for (int n = 0; n < rows; ++n)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox)
        for (int c = 0; c < s.C; ++c) {
          double acc = mode == PoolMode::Max ? -INFINITY : 0.0;
          for (int dy = 0; dy < 2; ++dy)
            for (int dxx = 0; dxx < 2; ++dxx) {
              const double v = x[at(s, n, 2 * oy + dy, 2 * ox + dxx, c)];
              if (mode == PoolMode::Max) acc = v > acc ? v : acc;
              else if (mode == PoolMode::L2) acc += v * v;
              else acc += v / 4.0;
            }
          if (mode == PoolMode::L2) acc = std::sqrt(acc);
          y[((static_cast<size_t>(n) * OH + oy) * OW + ox) * s.C + c] = static_cast<float>(acc);
        }
}

void pool_backward_ref(PoolMode mode, const PoolShape& s, const float* x, const float* y, const float* dy, float* dx,
                       int rows) {
  const int OH = s.OH(), OW = s.OW();
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(rows) * s.H * s.W * s.C);
  for (int n = 0; n < rows; ++n)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox)
        for (int c = 0; c < s.C; ++c) {
          const size_t oi = ((static_cast<size_t>(n) * OH + oy) * OW + ox) * s.C + c;
          bool routed = false;
          for (int ddy = 0; ddy < 2; ++ddy)
            for (int ddx = 0; ddx < 2; ++ddx) {
              const size_t xi = at(s, n, 2 * oy + ddy, 2 * ox + ddx, c);
              if (mode == PoolMode::Max) {
                if (!routed && x[xi] == y[oi]) { dx[xi] = dy[oi]; routed = true; }
              } else if (mode == PoolMode::L2) {
                dx[xi] = y[oi] > 0.f ? static_cast<float>(static_cast<double>(dy[oi]) * x[xi] / y[oi]) : 0.f;
              } else {
                dx[xi] = dy[oi] / 4.f;
              }
            }
        }
}

}  // namespace nndl
