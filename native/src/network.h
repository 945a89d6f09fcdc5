// The network core: a validated description, per-thread scratch, and the fused mini-batch
// forward/backward/update. No JS here: the binding and the async workers call into this.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "activation.h"
#include "augment.h"
#include "conv.h"
#include "cost.h"
#include "pool.h"
#include "thread_pool.h"

namespace nndl {

enum class LayerKind { Dense, Conv, Pool };

struct LayerDesc {
  LayerKind kind = LayerKind::Dense;
  int inH = 1, inW = 1, inC = 1, outH = 1, outW = 1, outC = 1;
  int inSize = 0, outSize = 0;  // per example
  Act act = Act::Linear;
  PoolMode pool = PoolMode::Max;
  float dropout = 0.f;  // dense only: dropout on the layer's input while training
  // Dense only. Inverted (default): kept inputs scaled by 1/(1−p) in training, nothing at inference.
  // network3.py's: kept inputs unscaled in training, the layer's W·x scaled by (1−p) at inference.
  bool dropoutNetwork3 = false;
  float dropout_train_scale() const { return dropoutNetwork3 ? 1.f : 1.f / (1.f - dropout); }
  float dropout_infer_alpha() const { return dropoutNetwork3 ? 1.f - dropout : 1.f; }
  ConvShape conv{};
  PoolShape poolShape{};
  size_t wOff = 0, wCount = 0, bOff = 0, bCount = 0;
  int paramIndex = -1;  // index among parametric layers (dense, conv), else -1
  // As declared in the description (-1: not given); finalize_desc checks them against the chain.
  int declIn[3] = {-1, -1, -1}, declOut[3] = {-1, -1, -1};
  int filters = 0, kernel = 0;  // conv
  // Conv only: batch normalisation of z before the activation (batch_norm.h). b is then the shift β,
  // and nOff holds γ[F], the running mean[F] and the running variance[F] (nCount = 3F).
  bool batchNorm = false;
  size_t nOff = 0, nCount = 0;
};

// The largest tensor one example may need (floats): its input, a layer's output, a conv layer's
// im2col rows. Far above anything the service builds (its biggest is 11.3M); below it every
// per-example size fits an int, and max_rows() keeps whole buffers within int indices.
constexpr int64_t kMaxExampleFloats = int64_t(1) << 28;

struct NetDesc {
  int inH = 0, inW = 0, inC = 0, inputSize = 0, outputSize = 0;
  std::vector<LayerDesc> layers;
  Cost cost = Cost::Quadratic;
  size_t paramCount = 0;
  int parametricLayers = 0;
  size_t maxExampleFloats = 0;  // the largest per-example tensor (see kMaxExampleFloats)
  // Most examples one buffer (a thread's slice or chunk) may hold: the kernels index in int.
  int max_rows() const { return static_cast<int>(INT32_MAX / (maxExampleFloats ? maxExampleFloats : 1)); }
};

// Checks shapes layer by layer and fills in sizes and parameter offsets; throws TypeErr/RangeErr.
void finalize_desc(NetDesc& d);

struct TrainJob {
  const uint8_t* images = nullptr;  // nImages × inputSize
  const uint8_t* labels = nullptr;  // nImages
  size_t nImages = 0;
  const uint32_t* order = nullptr;  // nOrder indices < nImages
  size_t nOrder = 0;
  int batchSize = 1;
  int64_t startBatch = 0;
  float eta = 0, momentum = 0, l2 = 0, l1 = 0;
  uint32_t dropoutSeed = 0;
  AugmentSpec augment;          // off unless augment.on; example i of a batch sits at its order position
  int32_t* cancel = nullptr;    // shared memory flag, may be null
  int32_t* progress = nullptr;  // shared memory counter, may be null
};

struct TrainResult {
  int64_t batchesDone = 0;
  bool cancelled = false;
  int64_t examples = 0;
  double costSum = 0;
  int64_t correct = 0;
  std::vector<double> gradNormSum;  // per parametric layer
};

struct EvalResult {
  double costSum = 0;
  int64_t correct = 0;
  std::vector<uint32_t> confusion;  // outputSize², [actual·outputSize + predicted]
};

// How evaluate/predict split their input: chunks of `rows` examples on `threads` threads, so their
// scratch never exceeds maxBytes = threads · rows · bytesPerRow (the budget given to the network).
struct InferencePlan {
  size_t bytesPerRow = 0;  // scratch of one example: its input, every layer's output, im2col rows
  int rows = 0;            // examples per chunk (at most kInferChunk)
  int threads = 0;         // threads that take chunks
  size_t maxBytes = 0;
};

class NetworkCore {
 public:
  // inferenceBudget: bytes of scratch evaluate/predict may hold (all threads together); 0 = no
  // budget (chunks of kInferChunk on every thread). RangeErr when one example needs more.
  NetworkCore(NetDesc desc, int threads, size_t inferenceBudget = 0);
  // Joins the worker threads, frees the scratch and hands freed heap pages back to the system.
  ~NetworkCore();
  const NetDesc& desc() const { return desc_; }
  int threads() const { return pool_.size(); }
  const InferencePlan& inference() const { return infer_; }
  // Serialises jobs on this network (each owns the thread pool and the scratch while it runs).
  std::mutex& mutex() { return mutex_; }

  // All of these run on the calling thread (a libuv pool thread for the async ones) plus the
  // network's own workers; params/velocity are the JS-owned buffers.
  void train(float* params, float* velocity, const TrainJob& job, TrainResult& out);
  void evaluate(const float* params, const uint8_t* images, const uint8_t* labels, size_t n, EvalResult& out);
  void predict(const float* params, const float* input, size_t n, float* out);
  // Precise batch-norm statistics: replaces each batch-norm layer's running mean and variance by
  // those of its z over the n images (biased variance), layer by layer in inference mode, each
  // layer's z taken through the earlier layers' new statistics: what inference will see. Sums
  // per chunk in double, reduced in chunk order (the same figures on any thread count).
  void batch_norm_statistics(float* params, const uint8_t* images, size_t n);
  // Mean cost over the n examples plus the regulariser, and its gradient into grad (paramCount).
  double gradient(float* params, const float* input, const uint8_t* labels, int n, float l2, float l1,
                  bool dropout, uint32_t seed, float* grad);
  // Threads a mini-batch of this size is split across: 1 when the batch is too little work to
  // share (deterministic in (network, batch size, threads), so reproducibility is unchanged).
  int train_threads(int batchSize) const;
  double flops_per_example() const;
  // Bytes of scratch currently held (grows to the largest job seen; freed with the network).
  size_t scratch_bytes() const;

 private:
  struct Workspace {
    int capacity = 0;       // rows held by x0, out, col (forward)
    int trainCapacity = 0;  // rows held by labels, delta, xdrop, mask (backward, dropout)
    const float* in0 = nullptr;          // input of layer 0 for the current slice
    std::vector<float> x0;               // converted input images
    std::vector<uint8_t> labels;
    std::vector<std::vector<float>> out, delta, col, xdrop;
    std::vector<std::vector<uint8_t>> mask;
    std::vector<std::vector<float>> bnHat, bnMean, bnVar;  // batch-norm layers: normalised z, slice statistics
    std::vector<float> grad;
    std::vector<double> sqNorm;          // per parametric layer, this thread's share of ‖g‖² this batch
    double cost = 0;
    int64_t correct = 0;
  };

  void ensure(Workspace& ws, int rows, bool training);
  // train: dropout on; batchStats: batch-norm layers normalise by the slice's own statistics (training
  // and the gradient), else by the running ones (inference).
  // zAt >= 0: stops at layer zAt (a conv layer), leaving its z (before bias, normalisation and
  // activation) in ws.out[zAt].
  void forward(Workspace& ws, const float* params, const float* input, int rows, bool train, bool batchStats,
               uint32_t seed, uint64_t posBase, int zAt = -1);
  // Blends the batch's statistics (the active threads' slices, pooled) into the running ones.
  void update_running_stats(float* params, int active, int sliceRows, int batchRows, int64_t batchInEpoch);
  // Epochs of plain SGD (no momentum, no L1, small batches) step big dense layers' weights straight
  // from dz and x (dense_update_rows) instead of through the gradient buffer.
  struct FusedStep {
    bool on = false;
    bool deferred = false;  // several threads: backward leaves W alone, the update phase steps it
    float eta = 0, l2 = 0, invM = 0;
  };
  void backward(Workspace& ws, float* params, float* grad, int rows, bool train, const FusedStep& fused);
  bool fused_layer(const LayerDesc& L) const;
  const float* layer_input(const Workspace& ws, int l, bool train) const;
  void load_images(Workspace& ws, const uint8_t* images, const uint32_t* idx, size_t first, int rows);
  // Evaluate and predict: fn(ws, t, u, first, rows) for each chunk u of infer_.rows examples of n
  // (the last may be shorter), chunk u on thread t = u mod infer_.threads.
  size_t infer_units(size_t n) const { return (n + infer_.rows - 1) / infer_.rows; }
  template <class Fn>
  void for_each_infer_chunk(size_t n, Fn&& fn);

  NetDesc desc_;
  InferencePlan infer_;
  ThreadPool pool_;
  std::mutex mutex_;
  std::vector<Workspace> ws_;
  struct Segment {
    size_t off, count;
    bool weight;
    int paramIndex;
  };
  std::vector<Segment> segments_;
};

}  // namespace nndl
