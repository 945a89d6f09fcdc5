// Augmentation kernels (see augment.h). Parameters and the affine map in double; the elastic
// field's Gaussian smoothing in float (the only costly part: 4·H·W·(2r+1) multiply-adds).
#include "augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "rng.h"

namespace nndl {

namespace {
constexpr uint64_t kAugmentSalt = 0xA076'1D64'78BD'642FULL;  // keeps these draws apart from dropout's
constexpr double kPi = 3.14159265358979323846;

inline uint64_t example_key(uint32_t seed, uint64_t position) {
  return mix64(mix64((static_cast<uint64_t>(seed) << 32) ^ kAugmentSalt) + position);
}
inline double uniform(uint64_t key, uint64_t k) {
  return static_cast<double>(mix64(key + k * 0xD1B54A32D192ED03ULL) >> 11) * 0x1p-53;
}

struct Buffers {
  std::vector<float> a, b, fx, fy, tmp;
  void ensure(size_t n) {
    for (auto* v : {&a, &b, &fx, &fy, &tmp})
      if (v->size() < n) v->assign(n, 0.f);
  }
};
thread_local Buffers tls;

// Grey dilation (max) or erosion (min) over the 3×3 cross, 0 outside; out = x + amount·(m − x).
void thickness(const float* x, float* out, int H, int W, bool dilate, float amount) {
  for (int y = 0; y < H; ++y)
    for (int c = 0; c < W; ++c) {
      const float v = x[y * W + c];
      const float n[4] = {y > 0 ? x[(y - 1) * W + c] : 0.f, y + 1 < H ? x[(y + 1) * W + c] : 0.f,
                          c > 0 ? x[y * W + c - 1] : 0.f, c + 1 < W ? x[y * W + c + 1] : 0.f};
      float m = v;
      for (float u : n) m = dilate ? std::max(m, u) : std::min(m, u);
      out[y * W + c] = v + amount * (m - v);
    }
}

// f (H×W) smoothed by the normalised Gaussian g[0..2r] (zero outside), times alpha; tmp: H×W.
void smooth(float* f, float* tmp, const std::vector<float>& g, int r, int H, int W, float alpha) {
  const int taps = 2 * r + 1;
  for (int y = 0; y < H; ++y) {  // rows
    float* o = tmp + y * W;
    const float* in = f + y * W;
    std::fill(o, o + W, 0.f);
    for (int k = 0; k < taps; ++k) {
      const int d = k - r, c0 = std::max(0, -d), c1 = std::min(W, W - d);
      const float gk = g[k];
      for (int c = c0; c < c1; ++c) o[c] += gk * in[c + d];
    }
  }
  for (int y = 0; y < H; ++y) {  // columns
    float* o = f + y * W;
    std::fill(o, o + W, 0.f);
    for (int k = 0; k < taps; ++k) {
      const int sy = y + k - r;
      if (sy < 0 || sy >= H) continue;
      const float gk = g[k];
      const float* in = tmp + sy * W;
      for (int c = 0; c < W; ++c) o[c] += gk * in[c];
    }
    for (int c = 0; c < W; ++c) o[c] *= alpha;
  }
}

inline double pixel(const float* x, int H, int W, int y, int c) {
  return y < 0 || y >= H || c < 0 || c >= W ? 0.0 : x[y * W + c];
}
}  // namespace

double augment_uniform(uint32_t seed, uint64_t position, uint64_t k) { return uniform(example_key(seed, position), k); }

void check_augment(const AugmentSpec& s) {
  auto in = [](float v, float lo, float hi, const char* name) {
    if (!(v >= lo && v <= hi))
      throw RangeErr(std::string("augment.") + name + " must be between " + std::to_string(lo) + " and " +
                     std::to_string(hi));
  };
  in(s.probability, 0, 1, "probability");
  in(s.rotation, 0, 180, "rotation");
  in(s.scale, 0, 0.9f, "scale");
  in(s.shear, 0, 80, "shear");
  in(s.translate, 0, 64, "translate");
  in(s.elasticAlpha, 0, 1000, "elasticAlpha");
  if (s.elasticAlpha > 0) in(s.elasticSigma, 0.25f, 32, "elasticSigma");
  in(s.thickness, 0, 1, "thickness");
}

void augment_rows(const AugmentSpec& s, float* images, int rows, int H, int W, uint64_t posBase) {
  if (!s.on || rows <= 0) return;
  const size_t n = static_cast<size_t>(H) * W;
  Buffers& B = tls;
  B.ensure(n);
  const bool affine = s.rotation > 0 || s.scale > 0 || s.shear > 0 || s.translate > 0;
  const bool elastic = s.elasticAlpha > 0;
  std::vector<float> g;
  int r = 0;
  if (elastic) {
    r = std::max(1, static_cast<int>(std::ceil(3.0 * s.elasticSigma)));
    std::vector<double> gd(2 * r + 1);
    double sum = 0;
    for (int k = -r; k <= r; ++k) sum += gd[k + r] = std::exp(-0.5 * k * k / (double(s.elasticSigma) * s.elasticSigma));
    g.resize(gd.size());
    for (size_t k = 0; k < gd.size(); ++k) g[k] = static_cast<float>(gd[k] / sum);
  }
  const double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
  for (int row = 0; row < rows; ++row) {
    float* x = images + row * n;
    const uint64_t key = example_key(s.seed, posBase + row);
    if (!(uniform(key, 0) < s.probability)) continue;
    if (s.thickness > 0 && uniform(key, 1) < s.thickness) {
      thickness(x, B.a.data(), H, W, uniform(key, 2) < 0.5, static_cast<float>(uniform(key, 3)));
      std::copy(B.a.begin(), B.a.begin() + n, x);
    }
    if (affine || elastic) {
      const double th = (2 * uniform(key, 4) - 1) * s.rotation * kPi / 180;
      const double sc = 1 + (2 * uniform(key, 5) - 1) * s.scale;
      const double ph = (2 * uniform(key, 6) - 1) * s.shear * kPi / 180;
      const double tx = (2 * uniform(key, 7) - 1) * s.translate, ty = (2 * uniform(key, 8) - 1) * s.translate;
      // Forward map p' = sc·R(th)·Shear(ph)·p + t about the centre; we sample at its inverse.
      const double co = std::cos(th), si = std::sin(th), ta = std::tan(ph);
      const double a00 = (co + ta * si) / sc, a01 = (si - ta * co) / sc, a10 = -si / sc, a11 = co / sc;
      if (elastic) {
        for (size_t i = 0; i < n; ++i) {
          B.fx[i] = static_cast<float>(2 * uniform(key, kAugmentFieldDraw + i) - 1);
          B.fy[i] = static_cast<float>(2 * uniform(key, kAugmentFieldDraw + n + i) - 1);
        }
        smooth(B.fx.data(), B.tmp.data(), g, r, H, W, s.elasticAlpha);
        smooth(B.fy.data(), B.tmp.data(), g, r, H, W, s.elasticAlpha);
      }
      for (int y = 0; y < H; ++y)
        for (int c = 0; c < W; ++c) {
          const double u = c - cx - tx, v = y - cy - ty;
          double sx = a00 * u + a01 * v + cx, sy = a10 * u + a11 * v + cy;
          if (elastic) {
            sx += B.fx[y * W + c];
            sy += B.fy[y * W + c];
          }
          const double fx0 = std::floor(sx), fy0 = std::floor(sy);
          const double wx = sx - fx0, wy = sy - fy0;
          // Far outside: 0 (also keeps the int conversion below in range)
          if (!(fx0 >= -2 && fx0 <= W && fy0 >= -2 && fy0 <= H)) { B.a[y * W + c] = 0.f; continue; }
          const int x0 = static_cast<int>(fx0), y0 = static_cast<int>(fy0);
          const double top = pixel(x, H, W, y0, x0) * (1 - wx) + pixel(x, H, W, y0, x0 + 1) * wx;
          const double bot = pixel(x, H, W, y0 + 1, x0) * (1 - wx) + pixel(x, H, W, y0 + 1, x0 + 1) * wx;
          B.a[y * W + c] = static_cast<float>(top * (1 - wy) + bot * wy);
        }
      std::copy(B.a.begin(), B.a.begin() + n, x);
    }
    if (s.bookShifts) {
      // expand_mnist.py's order: original, down, up, right, left
      static const int kShift[5][2] = {{0, 0}, {1, 0}, {-1, 0}, {0, 1}, {0, -1}};
      const int choice = std::min(4, static_cast<int>(uniform(key, 9) * 5));
      const int dy = kShift[choice][0], dx = kShift[choice][1];
      if (dy == 0 && dx == 0) continue;
      for (int y = 0; y < H; ++y)
        for (int c = 0; c < W; ++c) {
          const int sy = y - dy, sc = c - dx;
          B.a[y * W + c] = sy < 0 || sy >= H || sc < 0 || sc >= W ? 0.f : x[sy * W + sc];
        }
      std::copy(B.a.begin(), B.a.begin() + n, x);
    }
  }
}

}  // namespace nndl
