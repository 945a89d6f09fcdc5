// GEMM: C[M×N] = alpha·op(A)·op(B) + beta·C, all row-major; op(A) is M×K, op(B) is K×N.
// Dispatches to OpenBLAS (when built with it) or to our portable blocked kernel; a runtime switch
// lets tests check both against the naive reference in one build.
#pragma once

namespace nndl {

enum class GemmImpl { Portable = 0, OpenBlas = 1 };

bool gemm_have_openblas();
GemmImpl gemm_impl();
// Returns false when the requested implementation is not compiled in.
bool set_gemm_impl(GemmImpl impl);
const char* gemm_impl_name(GemmImpl impl);

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);
// Our blocked, vectorised kernel (always compiled).
void sgemm_portable(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc);
// Naive triple loop in double precision: the reference for tests.
void sgemm_ref(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace nndl
