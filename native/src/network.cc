// Forward and backward over a slice of examples held in one thread's workspace, plus the
// inference paths (evaluate, predict) and the synchronous gradient used by tests.
#include "network.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "batch_norm.h"
#include "common.h"
#include "dense.h"
#include "rng.h"

namespace nndl {

namespace {
constexpr int kInferChunk = 64;  // examples per unit of inference work (bounds the im2col scratch)
constexpr size_t kInferColBytes = 2 << 20;  // a chunk's largest im2col matrix, at most (see plan_inference)

// Exactly n zeroed elements; the old buffer is freed first, so growing never holds both (and the
// capacity, which scratch_bytes() reports, is what was asked for: no geometric growth).
template <typename T>
void fresh(std::vector<T>& v, size_t n) {
  std::vector<T>().swap(v);
  v.resize(n);
}

InferencePlan plan_inference(const NetDesc& d, int T, size_t budget) {
  InferencePlan p;
  size_t floats = d.inputSize;
  for (const auto& L : d.layers) {
    floats += L.outSize;
    if (L.kind == LayerKind::Conv) floats += static_cast<size_t>(L.conv.P()) * L.conv.KKC();
  }
  p.bytesPerRow = floats * sizeof(float);
  // a chunk's largest im2col matrix kept within kInferColBytes: past the core's cache, a conv net's
  // forward pass slows several-fold (measured: a 3×3 conv on 24×24×32, 663 KB a row, 3.4× slower at 32 rows than at 16)
  size_t colBytesPerRow = 0;
  for (const auto& L : d.layers)
    if (L.kind == LayerKind::Conv) colBytesPerRow = std::max(colBytesPerRow, static_cast<size_t>(L.conv.P()) * L.conv.KKC() * sizeof(float));
  const int colRows = colBytesPerRow ? static_cast<int>(std::max<size_t>(1, kInferColBytes / colBytesPerRow)) : kInferChunk;
  const int maxRows = std::min({kInferChunk, colRows, d.max_rows()});
  if (budget == 0) {
    p.threads = T;
    p.rows = maxRows;
  } else {
    if (p.bytesPerRow > budget)
      throw RangeErr("one example needs " + std::to_string(p.bytesPerRow) + " bytes of inference scratch, more than the budget of " +
                     std::to_string(budget) + " bytes (inferenceScratchBytes): this network cannot be served within it");
    p.threads = static_cast<int>(std::min<size_t>(T, budget / p.bytesPerRow));
    p.rows = static_cast<int>(std::min<size_t>(maxRows, budget / (p.threads * p.bytesPerRow)));
  }
  p.maxBytes = static_cast<size_t>(p.threads) * p.rows * p.bytesPerRow;
  return p;
}
}  // namespace

NetworkCore::NetworkCore(NetDesc desc, int threads, size_t inferenceBudget)
    : desc_(std::move(desc)), infer_(plan_inference(desc_, threads < 1 ? 1 : threads, inferenceBudget)), pool_(threads) {
  ws_.resize(pool_.size());
  for (auto& ws : ws_) {
    const size_t L = desc_.layers.size();
    ws.out.resize(L);
    ws.delta.resize(L);
    ws.col.resize(L);
    ws.xdrop.resize(L);
    ws.mask.resize(L);
    ws.bnHat.resize(L);
    ws.bnMean.resize(L);
    ws.bnVar.resize(L);
    ws.sqNorm.assign(desc_.parametricLayers, 0.0);
  }
  for (const auto& L : desc_.layers) {
    if (L.paramIndex < 0) continue;
    segments_.push_back({L.wOff, L.wCount, true, L.paramIndex});
    segments_.push_back({L.bOff, L.bCount, false, L.paramIndex});
    // γ is learned like a bias (no regulariser); the running statistics are in no segment: SGD never steps them
    if (L.batchNorm) segments_.push_back({L.nOff, static_cast<size_t>(L.filters), false, L.paramIndex});
  }
}

NetworkCore::~NetworkCore() {
  pool_.shutdown();  // first: the workers' thread-local buffers go with them
  size_t held = scratch_bytes();
  ws_ = {};
#if defined(__GLIBC__)
  // Large frees may stay in malloc's arenas (the mmap threshold adapts upwards): give them back now,
  // so a model leaving the cache shows in the RSS at once.
  if (held >= (size_t(1) << 20)) malloc_trim(0);
#else
  (void)held;
#endif
}

// Grows the scratch to hold `rows` examples; called before a job, never inside the batch loop.
// Inference (training = false) needs only what forward uses; training adds backward's buffers.
// src/engine/cost-estimate.ts mirrors these sizes (keep them in step).
void NetworkCore::ensure(Workspace& ws, int rows, bool training) {
  if (training && ws.grad.size() < desc_.paramCount) fresh(ws.grad, desc_.paramCount);
  const size_t r = rows;
  if (rows > ws.capacity) {
    fresh(ws.x0, r * desc_.inputSize);
    for (size_t l = 0; l < desc_.layers.size(); ++l) {
      const LayerDesc& L = desc_.layers[l];
      fresh(ws.out[l], r * L.outSize);
      if (L.kind == LayerKind::Conv) fresh(ws.col[l], r * L.conv.P() * L.conv.KKC());
    }
    ws.capacity = rows;
  }
  if (training && rows > ws.trainCapacity) {
    fresh(ws.labels, r);
    for (size_t l = 0; l < desc_.layers.size(); ++l) {
      const LayerDesc& L = desc_.layers[l];
      fresh(ws.delta[l], r * L.outSize);
      if (L.kind == LayerKind::Dense && L.dropout > 0.f) {
        fresh(ws.xdrop[l], r * L.inSize);
        fresh(ws.mask[l], r * L.inSize);
      }
      if (L.batchNorm) {
        fresh(ws.bnHat[l], r * L.outSize);
        fresh(ws.bnMean[l], L.filters);
        fresh(ws.bnVar[l], L.filters);
      }
    }
    ws.trainCapacity = rows;
  }
}

size_t NetworkCore::scratch_bytes() const {
  size_t b = 0;
  for (const auto& ws : ws_) {
    b += ws.x0.capacity() * sizeof(float) + ws.labels.capacity() + ws.grad.capacity() * sizeof(float);
    for (const auto* group : {&ws.out, &ws.delta, &ws.col, &ws.xdrop, &ws.bnHat, &ws.bnMean, &ws.bnVar})
      for (const auto& v : *group) b += v.capacity() * sizeof(float);
    for (const auto& v : ws.mask) b += v.capacity();
  }
  return b;
}

const float* NetworkCore::layer_input(const Workspace& ws, int l, bool train) const {
  const LayerDesc& L = desc_.layers[l];
  if (train && L.kind == LayerKind::Dense && L.dropout > 0.f) return ws.xdrop[l].data();
  return l == 0 ? ws.in0 : ws.out[l - 1].data();
}

void NetworkCore::load_images(Workspace& ws, const uint8_t* images, const uint32_t* idx, size_t first, int rows) {
  const size_t n = desc_.inputSize;
  constexpr float k = 1.f / 255.f;
  for (int r = 0; r < rows; ++r) {
    const size_t src = idx ? idx[first + r] : first + r;
    const uint8_t* p = images + src * n;
    float* d = ws.x0.data() + r * n;
    for (size_t i = 0; i < n; ++i) d[i] = p[i] * k;
  }
  ws.in0 = ws.x0.data();
}

void NetworkCore::forward(Workspace& ws, const float* params, const float* input, int rows, bool train,
                          bool batchStats, uint32_t seed, uint64_t posBase, int zAt) {
  ws.in0 = input;
  for (size_t l = 0; l < desc_.layers.size(); ++l) {
    const LayerDesc& L = desc_.layers[l];
    const float* x = l == 0 ? input : ws.out[l - 1].data();
    float* y = ws.out[l].data();
    switch (L.kind) {
      case LayerKind::Dense:
        if (train && L.dropout > 0.f) {
          dropout_forward(x, ws.xdrop[l].data(), ws.mask[l].data(), rows, L.inSize, L.dropout, L.dropout_train_scale(),
                          seed, posBase, static_cast<uint32_t>(l));
          x = ws.xdrop[l].data();
        }
        dense_forward(x, params + L.wOff, params + L.bOff, y, rows, L.inSize, L.outSize, L.act,
                      train ? 1.f : L.dropout_infer_alpha());
        break;
      case LayerKind::Conv:
        if (static_cast<int>(l) == zAt) {
          conv_forward(L.conv, x, params + L.wOff, nullptr, ws.col[l].data(), y, rows, Act::Linear);
          return;
        }
        if (!L.batchNorm) {
          conv_forward(L.conv, x, params + L.wOff, params + L.bOff, ws.col[l].data(), y, rows, L.act);
          break;
        }
        conv_forward(L.conv, x, params + L.wOff, nullptr, ws.col[l].data(), y, rows, Act::Linear);
        {
          const size_t n = static_cast<size_t>(rows) * L.conv.P();
          const float* gamma = params + L.nOff;
          if (batchStats)
            batch_norm_forward_train(y, n, L.filters, gamma, params + L.bOff, ws.bnHat[l].data(), y, ws.bnMean[l].data(),
                                     ws.bnVar[l].data(), L.act);
          else
            batch_norm_forward_infer(y, n, L.filters, gamma, params + L.bOff, gamma + L.filters, gamma + 2 * L.filters,
                                     L.act);
        }
        break;
      case LayerKind::Pool:
        pool_forward(L.pool, L.poolShape, x, y, rows);
        break;
    }
  }
}

// ws.delta[last] holds dC/dz of the output layer; writes the gradient (sum over the slice) into grad.
namespace {
// Weights (floats) from which a dense layer is stepped straight from dz and x: once W outgrows the
// L2 cache the extra passes over a gradient buffer cost more than the Gram-matrix norm (below it,
// e.g. ch3's 784×100, the plain path is faster).
constexpr size_t kFuseMinWeights = 1 << 18;
}  // namespace

bool NetworkCore::fused_layer(const LayerDesc& L) const {
  return L.kind == LayerKind::Dense && L.wCount >= kFuseMinWeights;
}

void NetworkCore::backward(Workspace& ws, float* params, float* grad, int rows, bool train, const FusedStep& fused) {
  for (int l = static_cast<int>(desc_.layers.size()) - 1; l >= 0; --l) {
    const LayerDesc& L = desc_.layers[l];
    const float* dz = ws.delta[l].data();
    float* dx = l > 0 ? ws.delta[l - 1].data() : nullptr;
    switch (L.kind) {
      case LayerKind::Dense:
        if (fused.on && fused_layer(L)) {
          if (fused.deferred) {
            dense_backward_partial(params + L.wOff, dz, grad + L.bOff, dx, rows, L.inSize, L.outSize);
          } else {
            // one thread: dx with the old W and the step, in one sweep over W
            ws.sqNorm[L.paramIndex] = dense_backward_step(layer_input(ws, l, train), params + L.wOff, dz, grad + L.bOff,
                                                          dx, rows, L.inSize, L.outSize, fused.eta, fused.l2, fused.invM);
          }
        } else
          dense_backward(layer_input(ws, l, train), params + L.wOff, dz, grad + L.wOff, grad + L.bOff, dx, rows,
                         L.inSize, L.outSize, train ? 1.f : L.dropout_infer_alpha());
        if (dx && train && L.dropout > 0.f)
          dropout_backward(dx, ws.mask[l].data(), static_cast<size_t>(rows) * L.inSize, L.dropout_train_scale());
        break;
      case LayerKind::Conv:
        if (L.batchNorm) {
          // dz becomes dC/dz through the statistics, dγ and dβ (b is the shift) come with it; the conv
          // itself has no bias then (its sum of dC/dz is zero: z's mean is taken out), so none is summed
          float* dzn = ws.delta[l].data();
          batch_norm_backward(dzn, ws.bnHat[l].data(), static_cast<size_t>(rows) * L.conv.P(), L.filters,
                              params + L.nOff, ws.bnVar[l].data(), grad + L.nOff, grad + L.bOff);
          conv_backward(L.conv, ws.col[l].data(), params + L.wOff, dzn, grad + L.wOff, nullptr, dx, rows);
          break;
        }
        conv_backward(L.conv, ws.col[l].data(), params + L.wOff, dz, grad + L.wOff, grad + L.bOff, dx, rows);
        break;
      case LayerKind::Pool:
        pool_backward(L.pool, L.poolShape, l == 0 ? ws.in0 : ws.out[l - 1].data(), ws.out[l].data(), dz, dx, rows);
        break;
    }
    if (dx) {
      const LayerDesc& P = desc_.layers[l - 1];
      if (P.kind != LayerKind::Pool) act_backward(P.act, ws.out[l - 1].data(), dx, static_cast<size_t>(rows) * P.outSize);
    }
  }
}

// Evaluate and predict take chunks of infer_.rows examples, chunk u on thread u mod infer_.threads
// (threads beyond that stay idle), each thread's scratch sized for min(rows, n) examples.
template <class Fn>
void NetworkCore::for_each_infer_chunk(size_t n, Fn&& fn) {
  const int A = infer_.threads;
  const int chunk = infer_.rows;
  const size_t units = infer_units(n);
  for (size_t t = 0; t < std::min<size_t>(A, units); ++t) ensure(ws_[t], static_cast<int>(std::min<size_t>(chunk, n)), false);
  auto work = [&](int t) {
    if (t >= A) return;
    Workspace& ws = ws_[t];
    for (size_t u = t; u < units; u += A) {
      const size_t first = u * chunk;
      fn(ws, t, u, first, static_cast<int>(std::min<size_t>(chunk, n - first)));
    }
  };
  if (units <= 1 || A == 1) work(0);  // one chunk or one thread: no need to wake the workers
  else pool_.run(work);
}

void NetworkCore::evaluate(const float* params, const uint8_t* images, const uint8_t* labels, size_t n,
                           EvalResult& out) {
  std::vector<CostStats> unitStats(infer_units(n));
  const int K = desc_.outputSize;
  std::vector<std::vector<uint32_t>> conf(pool_.size(), std::vector<uint32_t>(static_cast<size_t>(K) * K, 0));
  for_each_infer_chunk(n, [&](Workspace& ws, int t, size_t u, size_t first, int rows) {
    load_images(ws, images, nullptr, first, rows);
    forward(ws, params, ws.x0.data(), rows, false, false, 0, 0);
    const float* a = ws.out.back().data();
    unitStats[u] = cost_eval(desc_.cost, desc_.layers.back().act, a, labels + first, rows, K, nullptr);
    for (int r = 0; r < rows; ++r) {
      const float* ar = a + static_cast<size_t>(r) * K;
      int best = 0;
      for (int c = 1; c < K; ++c)
        if (ar[c] > ar[best]) best = c;
      ++conf[t][static_cast<size_t>(labels[first + r]) * K + best];
    }
  });
  out.costSum = 0;
  out.correct = 0;
  for (const auto& s : unitStats) { out.costSum += s.cost; out.correct += s.correct; }
  out.confusion.assign(static_cast<size_t>(K) * K, 0);
  for (const auto& c : conf)
    for (size_t i = 0; i < c.size(); ++i) out.confusion[i] += c[i];
}

void NetworkCore::predict(const float* params, const float* input, size_t n, float* out) {
  const int K = desc_.outputSize;
  for_each_infer_chunk(n, [&](Workspace& ws, int, size_t, size_t first, int rows) {
    forward(ws, params, input + first * desc_.inputSize, rows, false, false, 0, 0);
    std::memcpy(out + first * K, ws.out.back().data(), sizeof(float) * rows * K);
  });
}

namespace {
// Chunks whose sums batch_norm_statistics holds at once: its scratch stays small (64·2F doubles)
// however small the inference chunks are.
constexpr size_t kStatsChunksPerGroup = 64;
}  // namespace

void NetworkCore::batch_norm_statistics(float* params, const uint8_t* images, size_t n) {
  if (n == 0) return;
  // Groups of whole chunks: the chunk boundaries, and so the order of every addition, are those of
  // one pass over all n images, for any group size.
  const size_t groupRows = static_cast<size_t>(infer_.rows) * kStatsChunksPerGroup;
  for (size_t l = 0; l < desc_.layers.size(); ++l) {
    const LayerDesc& L = desc_.layers[l];
    if (!L.batchNorm) continue;
    const int F = L.filters;
    const size_t P = L.conv.P();
    std::vector<double> total(2 * F, 0.0);  // Σz[F], then Σz²[F], added chunk by chunk in order
    std::vector<double> sums(std::min(infer_units(n), kStatsChunksPerGroup) * 2 * F);
    for (size_t g0 = 0; g0 < n; g0 += groupRows) {
      const size_t gn = std::min(groupRows, n - g0);
      const size_t units = infer_units(gn);
      std::fill(sums.begin(), sums.begin() + units * 2 * F, 0.0);
      const uint8_t* groupImages = images + g0 * desc_.inputSize;
      for_each_infer_chunk(gn, [&](Workspace& ws, int, size_t u, size_t first, int rows) {
        load_images(ws, groupImages, nullptr, first, rows);
        forward(ws, params, ws.x0.data(), rows, false, false, 0, 0, static_cast<int>(l));
        const float* z = ws.out[l].data();
        double* s = sums.data() + u * 2 * F;
        double* q = s + F;
        const size_t m = static_cast<size_t>(rows) * P;
        for (size_t i = 0; i < m; ++i) {
          const float* zi = z + i * F;
          for (int c = 0; c < F; ++c) {
            const double v = zi[c];
            s[c] += v;
            q[c] += v * v;
          }
        }
      });
      for (size_t u = 0; u < units; ++u)
        for (int k = 0; k < 2 * F; ++k) total[k] += sums[u * 2 * F + k];
    }
    float* runMean = params + L.nOff + F;
    float* runVar = runMean + F;
    const double count = static_cast<double>(n) * P;
    for (int c = 0; c < F; ++c) {
      const double mean = total[c] / count;
      runMean[c] = static_cast<float>(mean);
      runVar[c] = static_cast<float>(std::max(0.0, total[F + c] / count - mean * mean));
    }
  }
}

double NetworkCore::gradient(float* params, const float* input, const uint8_t* labels, int n, float l2,
                             float l1, bool dropout, uint32_t seed, float* grad) {
  Workspace& ws = ws_[0];
  ensure(ws, n, true);
  forward(ws, params, input, n, dropout, true, seed, 0);
  const CostStats st = cost_eval(desc_.cost, desc_.layers.back().act, ws.out.back().data(), labels, n,
                                 desc_.outputSize, ws.delta.back().data());
  backward(ws, params, grad, n, dropout, FusedStep{});  // not fused: params are left alone
  const float invN = 1.f / n;
  double cost = st.cost / n;
  for (const auto& seg : segments_) {
    for (size_t i = seg.off; i < seg.off + seg.count; ++i) {
      grad[i] *= invN;
      if (!seg.weight) continue;
      const float w = params[i];
      grad[i] += l2 * w + l1 * (w > 0.f ? 1.f : (w < 0.f ? -1.f : 0.f));
      cost += 0.5 * l2 * static_cast<double>(w) * w + l1 * std::fabs(static_cast<double>(w));
    }
  }
  return cost;
}

}  // namespace nndl
