// Pooling: the fast versions walk whole channel runs (contiguous in NHWC) so they vectorise;
// the references go element by element.
#include "pool.h"
#include "vocabulary.h"

#include <cmath>
#include <cstring>

namespace nndl {

namespace {
// 16 floats (one zmm with AVX-512, two ymm with AVX2, four xmm with SSE); compares give int lanes of -1/0.
constexpr int PVL = 16;
typedef float pv __attribute__((vector_size(PVL * sizeof(float))));
typedef int pi __attribute__((vector_size(PVL * sizeof(int))));
inline pv ldp(const float* p) { pv v; std::memcpy(&v, p, sizeof v); return v; }
inline void stp(float* p, pv v) { std::memcpy(p, &v, sizeof v); }
}  // namespace

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
            {
              // 16 channels at a time: compare masks (first maximum wins) select g or 0 bitwise
              int c = 0;
              for (; c + PVL <= C; c += PVL) {
                const pv m = ldp(o + c), gc = ldp(g + c);
                const pi e00 = ldp(xn + i00 + c) == m, e01 = ldp(xn + i01 + c) == m, e10 = ldp(xn + i10 + c) == m;
                const pi gi = (pi)(gc);
                stp(dxn + i00 + c, (pv)(gi & e00));
                stp(dxn + i01 + c, (pv)(gi & ~e00 & e01));
                stp(dxn + i10 + c, (pv)(gi & ~e00 & ~e01 & e10));
                stp(dxn + i11 + c, (pv)(gi & ~e00 & ~e01 & ~e10));
              }
              for (; c < C; ++c) {
                const float m = o[c];
                const bool s00 = xn[i00 + c] == m;
                const bool s01 = !s00 && xn[i01 + c] == m;
                const bool s10 = !s00 && !s01 && xn[i10 + c] == m;
                const bool s11 = !s00 && !s01 && !s10;
                dxn[i00 + c] = s00 ? g[c] : 0.f;
                dxn[i01 + c] = s01 ? g[c] : 0.f;
                dxn[i10 + c] = s10 ? g[c] : 0.f;
                dxn[i11 + c] = s11 ? g[c] : 0.f;
              }
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
