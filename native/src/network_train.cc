// The epoch loop. Every mini-batch: each thread runs forward/backward over its contiguous slice of
// the batch into its own gradient buffer; barrier; each thread reduces (in fixed thread order) and
// applies the update to its own range of the parameters; barrier. Same thread count ⇒ same sums in
// the same order ⇒ bit-identical weights.
#include <algorithm>
#include <atomic>
#include <cmath>

#include "batch_norm.h"
#include "dense.h"
#include "network.h"
#include "update.h"

namespace nndl {

namespace {
inline int32_t load_flag(const int32_t* p) { return p ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0; }
inline void store_flag(int32_t* p, int32_t v) {
  if (p) __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
}  // namespace

namespace {
// Below this much arithmetic per mini-batch (a small MLP at batch 10), splitting the batch costs
// more in barriers and gradient reduction than it saves: such batches run on one thread.
constexpr double kMinFlopsPerBatchToSplit = 16e6;
}  // namespace

double NetworkCore::flops_per_example() const {
  double f = 0;
  for (const auto& L : desc_.layers) {
    if (L.kind == LayerKind::Dense) f += 6.0 * L.inSize * L.outSize;  // forward, dW, dx
    if (L.kind == LayerKind::Conv) f += 6.0 * L.conv.P() * L.conv.KKC() * L.conv.F;
  }
  return f;
}

int NetworkCore::train_threads(int batchSize) const {
  if (pool_.size() == 1 || flops_per_example() * batchSize < kMinFlopsPerBatchToSplit) return 1;
  return pool_.size();
}

void NetworkCore::update_running_stats(float* params, int active, int sliceRows, int batchRows, int64_t batchInEpoch) {
  const double w = std::max(static_cast<double>(kBatchNormMomentum), 1.0 / static_cast<double>(batchInEpoch + 1));
  for (size_t l = 0; l < desc_.layers.size(); ++l) {
    const LayerDesc& L = desc_.layers[l];
    if (!L.batchNorm) continue;
    float* runMean = params + L.nOff + L.filters;
    float* runVar = runMean + L.filters;
    for (int c = 0; c < L.filters; ++c) {
      // the slices' statistics pooled (equal positions per example, so weighted by rows)
      double m = 0, sq = 0;
      for (int k = 0; k < active; ++k) {
        const int rows = std::max(0, std::min(batchRows, (k + 1) * sliceRows) - k * sliceRows);
        const double mk = ws_[k].bnMean[l][c];
        m += rows * mk;
        sq += rows * (ws_[k].bnVar[l][c] + mk * mk);
      }
      m /= batchRows;
      const double v = std::max(0.0, sq / batchRows - m * m);
      runMean[c] = static_cast<float>((1 - w) * runMean[c] + w * m);
      runVar[c] = static_cast<float>((1 - w) * runVar[c] + w * v);
    }
  }
}

void NetworkCore::train(float* params, float* velocity, const TrainJob& job, TrainResult& out) {
  const size_t n = job.nOrder;
  const int m = job.batchSize;
  const int T = train_threads(m);
  const int64_t nb = static_cast<int64_t>((n + m - 1) / m);
  const int slice = (m + T - 1) / T;
  out = TrainResult{};
  out.gradNormSum.assign(desc_.parametricLayers, 0.0);
  out.batchesDone = std::max<int64_t>(job.startBatch, 0);
  if (job.startBatch >= nb) { out.batchesDone = nb; return; }
  if (load_flag(job.cancel)) { out.cancelled = true; return; }
  for (auto& ws : ws_) ensure(ws, slice, true);  // (after the early returns: nothing to train, nothing held)

  // Parameter ranges for the update phase: contiguous, 16-float aligned, one per thread.
  const size_t P = desc_.paramCount;
  const size_t chunk = (((P + T - 1) / T) + 15) / 16 * 16;
  std::atomic<bool> stop{false};
  bool hasBatchNorm = false;
  for (const auto& L : desc_.layers) hasBatchNorm = hasBatchNorm || L.batchNorm;
  std::vector<const float*> parts(T);
  for (int t = 0; t < T; ++t) parts[t] = ws_[t].grad.data();
  const LayerDesc& last = desc_.layers.back();
  // Plain SGD with small batches: big dense layers step straight from dz and x (see FusedStep):
  // inside backward on one thread; with several, each thread steps its own rows of W after the
  // first barrier, adding the slices in thread order.
  const bool fuse = !velocity && job.l1 == 0.f && m <= 32;
  std::vector<int> fusedLayers;
  for (size_t l = 0; l < desc_.layers.size(); ++l)
    if (fused_layer(desc_.layers[l])) fusedLayers.push_back(static_cast<int>(l));
  std::vector<char> fusedSeg(desc_.parametricLayers, 0);
  for (const auto& L : desc_.layers)
    if (L.paramIndex >= 0) fusedSeg[L.paramIndex] = fused_layer(L);

  auto epoch = [&](int t) {
    Workspace& ws = ws_[t];
    ws.cost = 0;
    ws.correct = 0;
    const size_t lo = std::min(P, t * chunk), hi = std::min(P, lo + chunk);
    for (int64_t b = job.startBatch; b < nb; ++b) {
      const size_t first = static_cast<size_t>(b) * m;
      const int bm = static_cast<int>(std::min<size_t>(m, n - first));
      const int s = (bm + T - 1) / T;
      const int active = (bm + s - 1) / s;  // threads 0..active-1 hold examples
      const int r0 = t * s, rows = std::max(0, std::min(bm, r0 + s) - r0);
      if (rows > 0) {
        load_images(ws, job.images, job.order, first + r0, rows);
        augment_rows(job.augment, ws.x0.data(), rows, desc_.inH, desc_.inW, first + r0);
        for (int r = 0; r < rows; ++r) ws.labels[r] = job.labels[job.order[first + r0 + r]];
        forward(ws, params, ws.x0.data(), rows, true, true, job.dropoutSeed, first + r0);
        const CostStats st = cost_eval(desc_.cost, last.act, ws.out.back().data(), ws.labels.data(), rows,
                                       desc_.outputSize, ws.delta.back().data());
        ws.cost += st.cost;
        ws.correct += st.correct;
        if (T == 1) std::fill(ws.sqNorm.begin(), ws.sqNorm.end(), 0.0);
        FusedStep fs;
        fs.on = fuse;
        fs.deferred = T > 1;
        fs.eta = job.eta;
        fs.l2 = job.l2;
        fs.invM = 1.f / bm;
        backward(ws, params, ws.grad.data(), rows, true, fs);
      }
      if (T > 1) pool_.barrier(t);
      const UpdateParams up{job.eta, job.momentum, job.l2, job.l1, 1.f / bm};
      // (the running statistics are in no thread's update range, and nothing reads them while training)
      if (t == 0 && hasBatchNorm) update_running_stats(params, active, s, bm, b);
      // (with several threads, zeroed only here: thread 0 reads every share after the barrier below)
      if (T > 1) std::fill(ws.sqNorm.begin(), ws.sqNorm.end(), 0.0);
      if (fuse && T > 1) {
        for (int l : fusedLayers) {
          const LayerDesc& L = desc_.layers[l];
          DenseSlice slices[64];
          for (int k = 0; k < active; ++k)
            slices[k] = DenseSlice{layer_input(ws_[k], l, true), ws_[k].delta[l].data(),
                                   std::max(0, std::min(bm, (k + 1) * s) - k * s)};
          const int o0 = static_cast<int>(static_cast<int64_t>(L.outSize) * t / T);
          const int o1 = static_cast<int>(static_cast<int64_t>(L.outSize) * (t + 1) / T);
          ws.sqNorm[L.paramIndex] += dense_update_rows(slices, active, params + L.wOff, L.inSize, L.outSize, o0, o1,
                                                       job.eta, job.l2, 1.f / bm);
        }
      }
      for (const auto& seg : segments_) {
        if (fuse && seg.weight && fusedSeg[seg.paramIndex]) continue;  // stepped from dz and x
        const size_t a = std::max(lo, seg.off), e = std::min(hi, seg.off + seg.count);
        if (a >= e) continue;
        const float* segParts[64];
        for (int k = 0; k < active; ++k) segParts[k] = parts[k] + a;
        const double sq = sgd_update(params + a, velocity ? velocity + a : nullptr, segParts, active, e - a, up,
                                     seg.weight);
        if (seg.weight) ws.sqNorm[seg.paramIndex] += sq;
      }
      if (t == 0) stop.store(load_flag(job.cancel) != 0, std::memory_order_relaxed);
      if (T > 1) pool_.barrier(t);
      if (t == 0) {
        for (int p = 0; p < desc_.parametricLayers; ++p) {
          double sq = 0;
          for (int k = 0; k < T; ++k) sq += ws_[k].sqNorm[p];
          out.gradNormSum[p] += std::sqrt(sq);
        }
        out.batchesDone = b + 1;
        out.examples += bm;
        store_flag(job.progress, static_cast<int32_t>(b + 1));
      }
      if (stop.load(std::memory_order_relaxed)) break;
    }
  };
  if (T == 1) epoch(0);
  else pool_.run(epoch);
  for (int t = 0; t < T; ++t) {
    out.costSum += ws_[t].cost;
    out.correct += ws_[t].correct;
  }
  out.cancelled = out.batchesDone < nb;
}

}  // namespace nndl
