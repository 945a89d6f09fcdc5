// The float vector width the addon is compiled for (16 lanes with AVX-512, 8 with AVX, else 4:
// SSE2 or NEON) and GCC's vector type of that width: what the hand-vectorised kernels (gemm.cc,
// dense.cc) build on, said once.
#pragma once

namespace nndl {

#if defined(__AVX512F__)
constexpr int kFloatLanes = 16;
#elif defined(__AVX__)
constexpr int kFloatLanes = 8;
#else
constexpr int kFloatLanes = 4;
#endif
typedef float vfloat __attribute__((vector_size(kFloatLanes * sizeof(float))));

}  // namespace nndl
