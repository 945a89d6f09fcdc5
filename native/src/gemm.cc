// GEMM dispatch, our portable blocked kernel (packed panels + register-tiled micro-kernel written
// with GCC vector extensions, so -march picks AVX-512/AVX2/SSE) and the naive reference.
#include "gemm.h"
#include "common.h"
#include "simd.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#ifdef NNDL_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace nndl {
namespace {

constexpr int VL = kFloatLanes;
typedef vfloat vf;

constexpr int MR = 6;         // rows of C per micro-tile
constexpr int NR = 2 * VL;    // columns of C per micro-tile (two vectors)
constexpr int KC = 256;       // depth of a packed block (A panel + B panel stay in L1/L2)
constexpr int MC = 96;        // rows of A packed at once (multiple of MR)
constexpr int NC = 4096;      // columns of B packed at once (multiple of NR)

inline vf loadv(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
inline void storev(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

// Default: our kernel. On the reference machine it beats the distribution's OpenBLAS on every
// shape the networks use (small-M dense products by 2×, conv products by 1.5–2×; see
// scripts/bench-native.ts and native/README.md). NNDL_GEMM=openblas selects OpenBLAS at load.
int initial_impl() {
  const char* env = std::getenv("NNDL_GEMM");
#ifdef NNDL_HAVE_OPENBLAS
  openblas_set_num_threads(1);  // we parallelise over the mini-batch ourselves
  if (env && std::strcmp(env, "openblas") == 0) return 1;
#else
  (void)env;
#endif
  return 0;
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
      // Transposing copy in 8×NR blocks: 8 contiguous reads per source row, the writes stay
      // within 8 rows of the (L1-resident) panel.
      const float* rows[NR];
      for (int j = 0; j < NR; ++j) rows[j] = B + static_cast<size_t>(j0 + jp + (j < w ? j : 0)) * ldb + k0;
      int k = 0;
      for (; k + 8 <= kc; k += 8) {
        float* d = dst + k * NR;
        for (int j = 0; j < NR; ++j) {
          const float* s = rows[j] + k;
          const bool live = j < w;
          for (int q = 0; q < 8; ++q) d[q * NR + j] = live ? s[q] : 0.f;
        }
      }
      for (; k < kc; ++k)
        for (int j = 0; j < NR; ++j) dst[k * NR + j] = j < w ? rows[j][k] : 0.f;
    }
  }
}

// Packs op(A) = Aᵀ, [i0..i0+mc) × [k0..k0+kc) of it, into MR-tall panels, zero-padded:
// Ap[panel][k][MR]. Only a transposed A is packed (blocked() reads a row-major A in place).
void pack_a_transposed(const float* A, int lda, int i0, int mc, int k0, int kc, float* Ap) {
  for (int ip = 0; ip < mc; ip += MR) {
    const int h = mc - ip < MR ? mc - ip : MR;
    float* dst = Ap + static_cast<size_t>(ip) * kc;
    for (int k = 0; k < kc; ++k) {
      const float* src = A + static_cast<size_t>(k0 + k) * lda + i0 + ip;
      for (int i = 0; i < h; ++i) dst[k * MR + i] = src[i];
    }
    if (h < MR)
      for (int k = 0; k < kc; ++k)
        for (int i = h; i < MR; ++i) dst[k * MR + i] = 0.f;
  }
}

// C tile (mr × nr) = alpha·Ap·Bp + (first ? beta·C : C); element (r, j) lives at C[r·rs + j·cs]
// (cs = 1 normally; rs = 1 when the product is computed transposed, see sgemm_portable).
// With lda == 0 the A panel is packed (Ap[k][MR]); otherwise Ap points at row-major A itself
// (row stride lda) and rows past mr alias row 0, so nothing outside A is read.
inline void micro_kernel(int kc, const float* __restrict Ap, size_t lda, const float* __restrict Bp, float* C,
                         size_t rs, size_t cs, int mr, int nr, float alpha, float beta, bool first) {
  vf c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {};
  vf c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
  if (lda == 0) {
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
  } else {
    const float* a0 = Ap;
    const float* a1 = Ap + (mr > 1 ? lda : 0);
    const float* a2 = Ap + (mr > 2 ? 2 * lda : 0);
    const float* a3 = Ap + (mr > 3 ? 3 * lda : 0);
    const float* a4 = Ap + (mr > 4 ? 4 * lda : 0);
    const float* a5 = Ap + (mr > 5 ? 5 * lda : 0);
    for (int k = 0; k < kc; ++k) {
      const vf b0 = loadv(Bp), b1 = loadv(Bp + VL);
      float a;
      a = a0[k]; c00 += a * b0; c01 += a * b1;
      a = a1[k]; c10 += a * b0; c11 += a * b1;
      a = a2[k]; c20 += a * b0; c21 += a * b1;
      a = a3[k]; c30 += a * b0; c31 += a * b1;
      a = a4[k]; c40 += a * b0; c41 += a * b1;
      a = a5[k]; c50 += a * b0; c51 += a * b1;
      Bp += NR;
    }
  }
  vf acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR && cs == 1) {
    for (int r = 0; r < MR; ++r) {
      float* crow = C + r * rs;
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
    float* crow = C + r * rs;
    for (int j = 0; j < nr; ++j) {
      float& c = crow[j * cs];
      float v = alpha * tile[r][j];
      if (!first) v += c;
      else if (beta != 0.f) v += beta * c;
      c = v;
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

// Small-M paths (M <= 16: a dense layer over a mini-batch slice). Packing B would cost as much as
// the product itself here, so these stream B once, straight from memory, keeping all M rows of C
// (or of the dot products) in registers.

// C[M×N] = alpha·A[M×K]·B[K×N] + beta·C, one vector of columns at a time.
template <int MM>
void small_m_axpy(int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C,
                  int ldc) {
  int jw = 0;
  // Two vectors of columns per pass while the 2·MM accumulators fit the registers: each broadcast of
  // A then feeds two FMAs (one load per FMA instead of 1.1).
  if (MM <= 12 && VL >= 8) {
    for (; jw + 2 * VL <= N; jw += 2 * VL) {
      vf acc0[MM], acc1[MM];
      for (int i = 0; i < MM; ++i) acc0[i] = acc1[i] = vf{};
      for (int k = 0; k < K; ++k) {
        const float* brow = B + static_cast<size_t>(k) * ldb + jw;
        const vf b0 = loadv(brow), b1 = loadv(brow + VL);
        for (int i = 0; i < MM; ++i) {
          const float a = A[static_cast<size_t>(i) * lda + k];
          acc0[i] += a * b0;
          acc1[i] += a * b1;
        }
      }
      for (int i = 0; i < MM; ++i) {
        float* crow = C + static_cast<size_t>(i) * ldc + jw;
        vf v0 = alpha * acc0[i], v1 = alpha * acc1[i];
        if (beta != 0.f) { v0 += beta * loadv(crow); v1 += beta * loadv(crow + VL); }
        storev(crow, v0);
        storev(crow + VL, v1);
      }
    }
  }
  for (int j0 = jw; j0 < N; j0 += VL) {
    const int w = N - j0 < VL ? N - j0 : VL;
    vf acc[MM];
    for (int i = 0; i < MM; ++i) acc[i] = vf{};
    if (w == VL) {
      for (int k = 0; k < K; ++k) {
        const vf b = loadv(B + static_cast<size_t>(k) * ldb + j0);
        for (int i = 0; i < MM; ++i) acc[i] += A[static_cast<size_t>(i) * lda + k] * b;
      }
    } else {
      alignas(64) float tmp[VL] = {};
      for (int k = 0; k < K; ++k) {
        const float* src = B + static_cast<size_t>(k) * ldb + j0;
        for (int j = 0; j < w; ++j) tmp[j] = src[j];
        const vf b = loadv(tmp);
        for (int i = 0; i < MM; ++i) acc[i] += A[static_cast<size_t>(i) * lda + k] * b;
      }
    }
    for (int i = 0; i < MM; ++i) {
      float* crow = C + static_cast<size_t>(i) * ldc + j0;
      if (w == VL) {
        vf v = alpha * acc[i];
        if (beta != 0.f) v += beta * loadv(crow);
        storev(crow, v);
      } else {
        for (int j = 0; j < w; ++j) crow[j] = alpha * acc[i][j] + (beta != 0.f ? beta * crow[j] : 0.f);
      }
    }
  }
}

// The vector's low half plus its high half (memcpy: no aliasing games, the compiler sees the lanes).
template <class Half, class V>
inline Half add_halves(V v) {
  Half lo, hi;
  std::memcpy(&lo, &v, sizeof lo);
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
  return lo + hi;
}

// Pairwise (halves added until 4 lanes are left): a few shuffles instead of VL − 1 dependent scalar
// adds, which cost as much as the dot products themselves at K of a few hundred.
inline float hsum(vf v) {
#if defined(__AVX__)
  typedef float v4 __attribute__((vector_size(4 * sizeof(float))));
#endif
#if defined(__AVX512F__)
  typedef float v8 __attribute__((vector_size(8 * sizeof(float))));
  const v4 q = add_halves<v4>(add_halves<v8>(v));
#elif defined(__AVX__)
  const v4 q = add_halves<v4>(v);
#else
  const vf q = v;
#endif
  return (q[0] + q[2]) + (q[1] + q[3]);
}

// C[M×N] = alpha·A[M×K]·B[N×K]ᵀ + beta·C: NJ columns of C at a time as dot products along K.
template <int MM, int NJ>
void small_m_dot(int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C,
                 int ldc) {
  const int K0 = K / VL * VL;
  int j = 0;
  auto block = [&](int j0, auto nj) {
    constexpr int J = decltype(nj)::value;
    vf acc[MM][J];
    for (int i = 0; i < MM; ++i)
      for (int q = 0; q < J; ++q) acc[i][q] = vf{};
    for (int k = 0; k < K0; k += VL) {
      vf b[J];
      for (int q = 0; q < J; ++q) b[q] = loadv(B + static_cast<size_t>(j0 + q) * ldb + k);
      for (int i = 0; i < MM; ++i) {
        const vf a = loadv(A + static_cast<size_t>(i) * lda + k);
        for (int q = 0; q < J; ++q) acc[i][q] += a * b[q];
      }
    }
    for (int i = 0; i < MM; ++i)
      for (int q = 0; q < J; ++q) {
        float s = hsum(acc[i][q]);
        const float* arow = A + static_cast<size_t>(i) * lda;
        const float* brow = B + static_cast<size_t>(j0 + q) * ldb;
        for (int k = K0; k < K; ++k) s += arow[k] * brow[k];
        float& c = C[static_cast<size_t>(i) * ldc + j0 + q];
        c = alpha * s + (beta != 0.f ? beta * c : 0.f);
      }
  };
  for (; j + NJ <= N; j += NJ) block(j, std::integral_constant<int, NJ>{});
  for (; j < N; ++j) block(j, std::integral_constant<int, 1>{});
}

template <int MM>
void small_m(bool transB, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
             float* C, int ldc) {
  constexpr int NJ = MM <= 6 ? 4 : (MM <= 12 ? 2 : 1);
  if (transB) small_m_dot<MM, NJ>(N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else small_m_axpy<MM>(N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Returns false when M is not small (the blocked path takes it).
bool small_m_dispatch(bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                      float beta, float* C, int ldc) {
  switch (M) {
#define NNDL_CASE(m) \
  case m: small_m<m>(transB, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return true;
    NNDL_CASE(1) NNDL_CASE(2) NNDL_CASE(3) NNDL_CASE(4) NNDL_CASE(5) NNDL_CASE(6) NNDL_CASE(7) NNDL_CASE(8)
    NNDL_CASE(9) NNDL_CASE(10) NNDL_CASE(11) NNDL_CASE(12) NNDL_CASE(13) NNDL_CASE(14) NNDL_CASE(15) NNDL_CASE(16)
#undef NNDL_CASE
    default: return false;
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

namespace {
// The packed, blocked product; C element (i, j) at C[i·rs + j·cs].
void blocked(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
             int ldb, float beta, float* C, size_t rs, size_t cs) {
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
        // A row-major A is read in place (the micro-kernel broadcasts from its rows); only a
        // transposed A is packed.
        if (transA) pack_a_transposed(A, lda, ic, mc, pc, kc, pb.a.data());
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = nc - jr < NR ? nc - jr : NR;
          const float* Bp = pb.b.data() + static_cast<size_t>(jr) * kc;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = mc - ir < MR ? mc - ir : MR;
            const float* Ap = transA ? pb.a.data() + static_cast<size_t>(ir) * kc
                                     : A + static_cast<size_t>(ic + ir) * lda + pc;
            micro_kernel(kc, Ap, transA ? 0 : static_cast<size_t>(lda), Bp, C + (ic + ir) * rs + (jc + jr) * cs, rs,
                         cs, mr, nr, alpha, beta, first);
          }
        }
      }
    }
  }
}

// Fraction of a micro-tile's lanes doing useful work along a dimension of size n.
double fill(int n, int tile) { return static_cast<double>(n) / (static_cast<double>((n + tile - 1) / tile) * tile); }
}  // namespace

void sgemm_portable(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) { scale_c(M, N, beta, C, ldc); return; }
  // Small M with a row-major A: stream B once (dense layers over a mini-batch slice).
  if (!transA && small_m_dispatch(transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) return;
  // Tall and narrow (conv filters, dense outputs over many rows): N fills the NR-wide tiles badly,
  // so compute Cᵀ = op(B)ᵀ·op(A)ᵀ instead, with N along the MR-tall side, storing transposed.
  const double normal = fill(M, MR) * fill(N, NR), swapped = fill(N, MR) * fill(M, NR);
  // Only when the swapped B operand (A) can be packed by plain row copies (transA).
  if (transA && M >= 4 * NR && swapped > 1.15 * normal) {
    blocked(!transB, !transA, N, M, K, alpha, B, ldb, A, lda, beta, C, 1, static_cast<size_t>(ldc));
    return;
  }
  blocked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, static_cast<size_t>(ldc), 1);
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
