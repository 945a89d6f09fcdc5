// Activations: forward in place (fused with the bias add), derivative expressed through the output a.
#pragma once
#include <cstddef>
#include <string>

namespace nndl {

enum class Act { Sigmoid, Tanh, Relu, Linear, Softmax };

bool parse_act(const std::string& s, Act* out);
const char* act_name(Act a);

// z[rows][cols] += b[cols] (b may be null), then a = f(z) in place; softmax is row-wise.
void bias_act_forward(Act act, float* z, const float* b, size_t rows, size_t cols);
// d[i] *= f'(z_i), written through a_i = f(z_i). Not for softmax (handled by the cost).
void act_backward(Act act, const float* a, float* d, size_t n);

}  // namespace nndl
