// On-the-fly data augmentation for training (no copies of the data set): each example of an epoch is
// distorted as it is converted to float, with parameters drawn from a counter hash of (seed, position
// in the epoch's order), so an example's distortion never depends on the thread that loads it.
// Stages, in order: stroke thickness (grey erode/dilate with a 3×3 cross, blended by a random
// amount), one warp (random affine: rotation, scale, shear, translation, plus Simard, Steinkraus &
// Platt's 2003 elastic field: uniform noise in [-1, 1] smoothed by a Gaussian of σ, times α), sampled
// bilinearly with 0 outside, then the book's 1-pixel shifts (one of original/down/up/right/left).
#pragma once
#include <cstddef>
#include <cstdint>

namespace nndl {

struct AugmentSpec {
  bool on = false;
  float probability = 1.f;  // chance an example is distorted at all (else it is left as it is)
  float rotation = 0.f;     // degrees: angle uniform in [-rotation, rotation]
  float scale = 0.f;        // factor uniform in [1 - scale, 1 + scale]
  float shear = 0.f;        // degrees: horizontal shear angle uniform in [-shear, shear]
  float translate = 0.f;    // pixels: each of dx, dy uniform in [-translate, translate]
  float elasticAlpha = 0.f; // 0: no elastic field
  float elasticSigma = 0.f;
  float thickness = 0.f;    // chance of a thickness change (erode or dilate, even odds)
  bool bookShifts = false;  // one of the 5 images of the book's expansion, uniformly
  uint32_t seed = 0;
};

// The uniform in [0, 1) number k of the example at `position` (exposed so tests can replay draws).
double augment_uniform(uint32_t seed, uint64_t position, uint64_t k);

// Index of the first elastic-field draw: draws 0..kAugmentFieldDraw-1 are the scalar parameters,
// then the field's dx (H·W draws, row-major), then its dy.
constexpr uint64_t kAugmentFieldDraw = 16;

// Distorts rows images of H×W floats in place; row r sits at position posBase + r of the epoch.
// Uses small per-thread buffers (a few H·W floats) outside the network's scratch.
void augment_rows(const AugmentSpec& spec, float* images, int rows, int H, int W, uint64_t posBase);

// Throws RangeErr naming the field when a value is out of range (H, W: the input's size).
void check_augment(const AugmentSpec& spec);

}  // namespace nndl
