// Costs per example: quadratic ½‖a−y‖², cross-entropy −Σ[y ln a + (1−y) ln(1−a)], log-likelihood −ln a_y.
// y is the one-hot vector of the label.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "activation.h"

namespace nndl {

enum class Cost { Quadratic, CrossEntropy, LogLikelihood };
// The one floor under every log of a cost (the smallest a, or 1 − a, the log sees), the same as
// COST_LOG_FLOOR in src/engine/spec.ts: 1e-30 is a normal float32, so every backend clamps alike.
inline constexpr double kCostLogFloor = 1e-30;
// The floor under the divisions of dC/da for the pairs without the book's simplified delta.
inline constexpr float kCostDerivativeFloor = 1e-12f;

bool parse_cost(const std::string& s, Cost* out);

struct CostStats {
  double cost = 0;
  int64_t correct = 0;
};

// For outputs a[rows][cols] of the last layer (activation act) and labels[rows]: returns the summed
// cost and number of argmax hits; when delta is not null writes dC/dz per example (not averaged).
CostStats cost_eval(Cost cost, Act act, const float* a, const uint8_t* labels, size_t rows, size_t cols,
                    float* delta);

}  // namespace nndl
