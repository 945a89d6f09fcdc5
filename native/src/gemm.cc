// GEMM dispatch, our portable blocked kernel (packed panels + register-tiled micro-kernel written
// with GCC vector extensions, so -march picks AVX-512/AVX2/SSE) and the naive reference.
#include "gemm.h"
#include "common.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef NNDL_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace nndl {
namespace {

#if defined(__AVX512F__)
constexpr int VL = 16;
#elif defined(__AVX__)
constexpr int VL = 8;
#else
constexpr int VL = 4;
#endif
typedef float vf __attribute__((vector_size(VL * sizeof(float))));

constexpr int MR = 6;         // rows of C per micro-tile
constexpr int NR = 2 * VL;    // columns of C per micro-tile (two vectors)
constexpr int KC = 256;       // depth of a packed block (A panel + B panel stay in L1/L2)
constexpr int MC = 96;        // rows of A packed at once (multiple of MR)
constexpr int NC = 4096;      // columns of B packed at once (multiple of NR)

inline vf loadv(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
inline void storev(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

int initial_impl() {
  const char* env = std::getenv("NNDL_GEMM");
#ifdef NNDL_HAVE_OPENBLAS
  openblas_set_num_threads(1);  // we parallelise over the mini-batch ourselves
  if (env && std::strcmp(env, "portable") == 0) return 0;
  return 1;
#else
  (void)env;
  return 0;
#endif
}
std::atomic<int> g_impl{initial_impl()};

// Packs op(B)[k0..k0+kc) × [j0..j0+nc) into NR-wide panels, zero-padded: Bp[panel][k][NR].
void pack_b(bool transB, const float* B, int ldb, int k0, int kc, int j0, int nc, float* Bp) {
  for (int jp = 0; jp < nc; jp += NR) {
    const int w = nc - jp < NR ? nc - jp : NR;
    float* dst = Bp + static_cast<size_t>(jp) * kc;
    if (!transB) {
      for (int k = 0; k < kc; ++k) {
        const float* src = B + static_cast<size_t>(k0 + k) * ldb + j0 + jp;
        float* d = dst + k * NR;
        if (w == NR) std::memcpy(d, src, NR * sizeof(float));
        else { for (int j = 0; j < w; ++j) d[j] = src[j]; for (int j = w; j < NR; ++j) d[j] = 0.f; }
      }
    } else {
      for (int j = 0; j < w; ++j) {
        const float* src = B + static_cast<size_t>(j0 + jp + j) * ldb + k0;
        for (int k = 0; k < kc; ++k) dst[k * NR + j] = src[k];
      }
      for (int j = w; j < NR; ++j)
        for (int k = 0; k < kc; ++k) dst[k * NR + j] = 0.f;
    }
  }
}

// Packs op(A)[i0..i0+mc) × [k0..k0+kc) into MR-tall panels, zero-padded: Ap[panel][k][MR].
void pack_a(bool transA, const float* A, int lda, int i0, int mc, int k0, int kc, float* Ap) {
  for (int ip = 0; ip < mc; ip += MR) {
    const int h = mc - ip < MR ? mc - ip : MR;
    float* dst = Ap + static_cast<size_t>(ip) * kc;
    if (!transA) {
      for (int i = 0; i < h; ++i) {
        const float* src = A + static_cast<size_t>(i0 + ip + i) * lda + k0;
        for (int k = 0; k < kc; ++k) dst[k * MR + i] = src[k];
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        const float* src = A + static_cast<size_t>(k0 + k) * lda + i0 + ip;
        for (int i = 0; i < h; ++i) dst[k * MR + i] = src[i];
      }
    }
    if (h < MR)
      for (int k = 0; k < kc; ++k)
        for (int i = h; i < MR; ++i) dst[k * MR + i] = 0.f;
  }
}

// C tile (mr × nr) = alpha·Ap·Bp + (first ? beta·C : C).
inline void micro_kernel(int kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int ldc,
                         int mr, int nr, float alpha, float beta, bool first) {
  vf c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {};
  vf c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
  for (int k = 0; k < kc; ++k) {
    const vf b0 = loadv(Bp), b1 = loadv(Bp + VL);
    float a;
    a = Ap[0]; c00 += a * b0; c01 += a * b1;
    a = Ap[1]; c10 += a * b0; c11 += a * b1;
    a = Ap[2]; c20 += a * b0; c21 += a * b1;
    a = Ap[3]; c30 += a * b0; c31 += a * b1;
    a = Ap[4]; c40 += a * b0; c41 += a * b1;
    a = Ap[5]; c50 += a * b0; c51 += a * b1;
    Ap += MR;
    Bp += NR;
  }
  vf acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR) {
    for (int r = 0; r < MR; ++r) {
      float* crow = C + static_cast<size_t>(r) * ldc;
      for (int h = 0; h < 2; ++h) {
        vf v = alpha * acc[r][h];
        if (!first) v += loadv(crow + h * VL);
        else if (beta != 0.f) v += beta * loadv(crow + h * VL);
        storev(crow + h * VL, v);
      }
    }
    return;
  }
  alignas(64) float tile[MR][NR];
  for (int r = 0; r < MR; ++r) { storev(&tile[r][0], acc[r][0]); storev(&tile[r][VL], acc[r][1]); }
  for (int r = 0; r < mr; ++r) {
    float* crow = C + static_cast<size_t>(r) * ldc;
    for (int j = 0; j < nr; ++j) {
      float v = alpha * tile[r][j];
      if (!first) v += crow[j];
      else if (beta != 0.f) v += beta * crow[j];
      crow[j] = v;
    }
  }
}

struct PackBuffers {
  std::vector<float> a, b;
};
thread_local PackBuffers t_pack;

void scale_c(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    float* row = C + static_cast<size_t>(i) * ldc;
    if (beta == 0.f) std::memset(row, 0, sizeof(float) * N);
    else for (int j = 0; j < N; ++j) row[j] *= beta;
  }
}

}  // namespace

bool gemm_have_openblas() {
#ifdef NNDL_HAVE_OPENBLAS
  return true;
#else
  return false;
#endif
}
GemmImpl gemm_impl() { return static_cast<GemmImpl>(g_impl.load(std::memory_order_relaxed)); }
bool set_gemm_impl(GemmImpl impl) {
  if (impl == GemmImpl::OpenBlas && !gemm_have_openblas()) return false;
  g_impl.store(static_cast<int>(impl));
  return true;
}
const char* gemm_impl_name(GemmImpl impl) { return impl == GemmImpl::OpenBlas ? "openblas" : "portable"; }

void sgemm_portable(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) { scale_c(M, N, beta, C, ldc); return; }
  PackBuffers& pb = t_pack;
  const int ncMax = N < NC ? N : NC, kcMax = K < KC ? K : KC;
  const size_t needB = round_up(static_cast<size_t>(ncMax), NR) * static_cast<size_t>(kcMax);
  const size_t needA = static_cast<size_t>((M < MC ? (M + MR - 1) / MR * MR : MC)) * kcMax;
  if (pb.b.size() < needB) pb.b.resize(needB);
  if (pb.a.size() < needA) pb.a.resize(needA);
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = N - jc < NC ? N - jc : NC;
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = K - pc < KC ? K - pc : KC;
      const bool first = pc == 0;
      pack_b(transB, B, ldb, pc, kc, jc, nc, pb.b.data());
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = M - ic < MC ? M - ic : MC;
        pack_a(transA, A, lda, ic, mc, pc, kc, pb.a.data());
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = nc - jr < NR ? nc - jr : NR;
          const float* Bp = pb.b.data() + static_cast<size_t>(jr) * kc;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = mc - ir < MR ? mc - ir : MR;
            micro_kernel(kc, pb.a.data() + static_cast<size_t>(ir) * kc, Bp,
                         C + static_cast<size_t>(ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, beta, first);
          }
        }
      }
    }
  }
}

void sgemm_ref(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
               const float* B, int ldb, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) {
        const double a = transA ? A[static_cast<size_t>(k) * lda + i] : A[static_cast<size_t>(i) * lda + k];
        const double b = transB ? B[static_cast<size_t>(j) * ldb + k] : B[static_cast<size_t>(k) * ldb + j];
        s += a * b;
      }
      float& c = C[static_cast<size_t>(i) * ldc + j];
      c = static_cast<float>(alpha * s + (beta == 0.f ? 0.0 : static_cast<double>(beta) * c));
    }
}

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
#ifdef NNDL_HAVE_OPENBLAS
  if (g_impl.load(std::memory_order_relaxed) == 1) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { scale_c(M, N, beta, C, ldc); return; }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#endif
  sgemm_portable(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace nndl
