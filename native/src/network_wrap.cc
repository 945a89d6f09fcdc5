// JS surface of Network (see native/README.md): argument validation, then a queued AsyncWorker
// (trainEpoch, evaluate, predict) or a synchronous call (gradient, forward; for tests).
#include "network_wrap.h"

#include <mutex>
#include <thread>

#include "async_workers.h"
#include "augment_args.h"
#include "js_args.h"
#include "vocabulary.h"

namespace nndl {

namespace {

void read_shape(Napi::Object o, const char* key, int* out, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3)
    throw TypeErr(where + "." + key + " must be an array of three integers [height, width, channels]");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 3; ++i) out[i] = static_cast<int>(to_int(a.Get(i), where + "." + key, 1, 1 << 20));
}

std::string get_string(Napi::Object o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw TypeErr(where + "." + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int get_layer_int(Napi::Object o, const char* key, const std::string& where, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) throw TypeErr(where + "." + key + " is required (a positive integer)");
    return -1;
  }
  return static_cast<int>(to_int(v, where + "." + key, 1, 1 << 24));
}

}  // namespace

NetDesc parse_desc(Napi::Object d) {
  NetDesc nd;
  int in[3] = {-1, -1, -1};
  read_shape(d, "inputShape", in, "desc");
  if (in[0] < 0) throw TypeErr("desc.inputShape is required ([height, width, channels])");
  nd.inH = in[0]; nd.inW = in[1]; nd.inC = in[2];
  Napi::Value lv = d.Get("layers");
  if (!lv.IsArray()) throw TypeErr("desc.layers must be an array");
  Napi::Array layers = lv.As<Napi::Array>();
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    const std::string where = "desc.layers[" + std::to_string(i) + "]";
    Napi::Value item = layers.Get(i);
    if (!item.IsObject()) throw TypeErr(where + " must be an object");
    Napi::Object o = item.As<Napi::Object>();
    LayerDesc L;
    const std::string kind = get_string(o, "kind", where);
    if (kind == "dense") {
      L.kind = LayerKind::Dense;
      L.declIn[0] = get_layer_int(o, "inSize", where, false);
      L.declOut[0] = get_layer_int(o, "outSize", where, true);
      const double p = get_number(o, "dropout", false, 0.0);
      if (p < 0 || p >= 1) throw RangeErr(where + ".dropout must be in [0, 1)");
      L.dropout = static_cast<float>(p);
      const Napi::Value style = o.Get("dropoutStyle");
      if (!style.IsUndefined()) {
        const std::string s = get_string(o, "dropoutStyle", where);
        if (s != "inverted" && s != "network3") throw RangeErr(where + ".dropoutStyle must be one of inverted, network3");
        L.dropoutNetwork3 = s == "network3";
      }
    } else if (kind == "conv") {
      L.kind = LayerKind::Conv;
      L.filters = get_layer_int(o, "filters", where, true);
      L.kernel = get_layer_int(o, "kernel", where, true);
      const Napi::Value bn = o.Get("batchNorm");
      if (!bn.IsUndefined()) {
        if (!bn.IsBoolean()) throw TypeErr(where + ".batchNorm must be a boolean");
        L.batchNorm = bn.As<Napi::Boolean>().Value();
      }
      read_shape(o, "inShape", L.declIn, where);
      read_shape(o, "outShape", L.declOut, where);
    } else if (kind == "pool") {
      L.kind = LayerKind::Pool;
      if (!parse_pool(get_string(o, "mode", where), &L.pool))
        throw RangeErr(where + ".mode must be one of " + names_of(kPoolModes));
      read_shape(o, "inShape", L.declIn, where);
      read_shape(o, "outShape", L.declOut, where);
    } else {
      throw RangeErr(where + ".kind must be one of dense, conv, pool (got '" + kind + "')");
    }
    if (L.kind != LayerKind::Pool && !parse_act(get_string(o, "activation", where), &L.act))
      throw RangeErr(where + ".activation must be one of " + names_of(kActivations));
    nd.layers.push_back(L);
  }
  if (!parse_cost(get_string(d, "cost", "desc"), &nd.cost))
    throw RangeErr("desc.cost must be one of " + names_of(kCosts));
  finalize_desc(nd);
  return nd;
}

NetDesc parse_desc_json(Napi::Env env, Napi::Value text) {
  if (!text.IsString()) throw TypeErr("descJson must be a string");
  Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
  Napi::Value parsed;
  try {
    parsed = json.Get("parse").As<Napi::Function>().Call(json, {text});
  } catch (const Napi::Error& e) {
    throw TypeErr(std::string("descJson is not valid JSON: ") + e.Message());
  }
  if (!parsed.IsObject()) throw TypeErr("descJson must describe an object");
  return parse_desc(parsed.As<Napi::Object>());
}

namespace {
Napi::Array shape_array(Napi::Env env, int h, int w, int c) {
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, Napi::Number::New(env, h));
  a.Set(1u, Napi::Number::New(env, w));
  a.Set(2u, Napi::Number::New(env, c));
  return a;
}
}  // namespace

// describe(descJson): the description as finalize_desc completes it, for the tests that hold
// network-plan.ts to the same shapes and parameter layout (test/native/layout.test.ts).
Napi::Value Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (info.Length() < 1) throw TypeErr("describe(descJson): 1 argument expected");
    const NetDesc d = parse_desc_json(env, info[0]);
    Napi::Object o = Napi::Object::New(env);
    o.Set("inputShape", shape_array(env, d.inH, d.inW, d.inC));
    o.Set("paramCount", Napi::Number::New(env, static_cast<double>(d.paramCount)));
    Napi::Array layers = Napi::Array::New(env, d.layers.size());
    for (size_t i = 0; i < d.layers.size(); ++i) {
      const LayerDesc& L = d.layers[i];
      Napi::Object l = Napi::Object::New(env);
      l.Set("kind", L.kind == LayerKind::Dense ? "dense" : L.kind == LayerKind::Conv ? "conv" : "pool");
      l.Set("inShape", shape_array(env, L.inH, L.inW, L.inC));
      l.Set("outShape", shape_array(env, L.outH, L.outW, L.outC));
      l.Set("inSize", Napi::Number::New(env, L.inSize));
      l.Set("outSize", Napi::Number::New(env, L.outSize));
      if (L.paramIndex >= 0) {
        l.Set("weightOffset", Napi::Number::New(env, static_cast<double>(L.wOff)));
        l.Set("weightLength", Napi::Number::New(env, static_cast<double>(L.wCount)));
        l.Set("biasOffset", Napi::Number::New(env, static_cast<double>(L.bOff)));
        l.Set("biasLength", Napi::Number::New(env, static_cast<double>(L.bCount)));
        if (L.batchNorm) {
          l.Set("normOffset", Napi::Number::New(env, static_cast<double>(L.nOff)));
          l.Set("normLength", Napi::Number::New(env, static_cast<double>(L.nCount)));
        }
      }
      layers.Set(static_cast<uint32_t>(i), l);
    }
    o.Set("layers", layers);
    return o;
  });
}

Napi::Function NetworkWrap::Define(Napi::Env env) {
#define NNDL_METHOD(jsName, method) InstanceMethod(jsName, &NetworkWrap::method),
#define NNDL_GETTER(jsName, method) InstanceAccessor(jsName, &NetworkWrap::method, nullptr),
  return DefineClass(env, "Network", {NNDL_NETWORK_METHODS(NNDL_METHOD) NNDL_NETWORK_GETTERS(NNDL_GETTER)});
#undef NNDL_METHOD
#undef NNDL_GETTER
}

NetworkWrap::NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    if (!info.IsConstructCall()) throw TypeErr("Network must be called with new");
    if (info.Length() < 4)
      throw TypeErr("new Network(descJson, params, velocity, threads[, options]): 4 arguments expected");
    NetDesc desc = parse_desc_json(env, info[0]);
    auto params = get_array<float>(info[1], "params");
    if (params.length != desc.paramCount)
      throw RangeErr("params has " + std::to_string(params.length) + " elements but the network needs " +
                     std::to_string(desc.paramCount));
    auto velocity = get_array<float>(info[2], "velocity", true);
    if (velocity.present() && velocity.length != desc.paramCount)
      throw RangeErr("velocity has " + std::to_string(velocity.length) + " elements but the network needs " +
                     std::to_string(desc.paramCount));
    const int threads = static_cast<int>(to_int(info[3], "threads", 1, 64));
    double budget = 0;  // options.inferenceScratchBytes: evaluate/predict scratch, all threads together
    if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) {
      if (!info[4].IsObject()) throw TypeErr("options must be an object");
      budget = get_number(info[4].As<Napi::Object>(), "inferenceScratchBytes", false, 0);
      if (budget < 0 || budget != std::floor(budget) || budget > 9007199254740991.0)
        throw RangeErr("options.inferenceScratchBytes must be a non-negative integer (0: no budget)");
    }
    paramsRef_ = Napi::Persistent(info[1].As<Napi::Object>());
    if (velocity.present()) velocityRef_ = Napi::Persistent(info[2].As<Napi::Object>());
    paramCount_ = desc.paramCount;
    core_ = std::make_shared<NetworkCore>(std::move(desc), threads, static_cast<size_t>(budget));
  });
}

const std::shared_ptr<NetworkCore>& NetworkWrap::live() {
  if (!core_) throw std::runtime_error("the network was disposed");
  return core_;
}

// dispose(): drops the core. With no job queued or running it is freed here (threads joined,
// scratch freed); otherwise the last job to finish frees it (they hold a share). Either way every
// later call throws. Idempotent.
Napi::Value NetworkWrap::Dispose(const Napi::CallbackInfo& info) {
  core_.reset();
  return info.Env().Undefined();
}

Napi::Value NetworkWrap::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !core_);
}

// { bytesPerRow, rows, threads, maxBytes }: how evaluate/predict chunk their input (InferencePlan).
Napi::Value NetworkWrap::GetInference(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const InferencePlan& p = live()->inference();
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytesPerRow", Napi::Number::New(env, static_cast<double>(p.bytesPerRow)));
    o.Set("rows", Napi::Number::New(env, p.rows));
    o.Set("threads", Napi::Number::New(env, p.threads));
    o.Set("maxBytes", Napi::Number::New(env, static_cast<double>(p.maxBytes)));
    return o;
  });
}

float* NetworkWrap::params() {
  auto a = paramsRef_.Value().As<Napi::Float32Array>();
  if (a.ElementLength() != paramCount_) throw RangeErr("params buffer was detached or resized");
  return a.Data();
}

float* NetworkWrap::velocity() {
  if (velocityRef_.IsEmpty()) return nullptr;
  auto a = velocityRef_.Value().As<Napi::Float32Array>();
  if (a.ElementLength() != paramCount_) throw RangeErr("velocity buffer was detached or resized");
  return a.Data();
}

Napi::Value NetworkWrap::GetParamCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(paramCount_));
}

Napi::Value NetworkWrap::GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), core_ ? core_->threads() : 0);
}

// Read without the job mutex: an estimate (a running job may be growing the buffers). 0 once disposed.
Napi::Value NetworkWrap::GetScratchBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), core_ ? static_cast<double>(core_->scratch_bytes()) : 0.0);
}

// trainThreads(batchSize): how many threads trainEpoch splits a batch of this size across.
Napi::Value NetworkWrap::TrainThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const int m = static_cast<int>(to_int(info[0], "batchSize", 1, 1 << 20));
    return Napi::Number::New(env, live()->train_threads(m));
  });
}

namespace {
// Images (Uint8Array n×inputSize) and labels (Uint8Array n, each < outputSize).
size_t check_images_labels(const NetDesc& d, const ArrayView<uint8_t>& images, const ArrayView<uint8_t>& labels) {
  if (images.length % d.inputSize != 0)
    throw RangeErr("images has " + std::to_string(images.length) + " bytes, not a multiple of the input size " +
                   std::to_string(d.inputSize));
  const size_t n = images.length / d.inputSize;
  if (labels.length != n)
    throw RangeErr("labels has " + std::to_string(labels.length) + " entries but images holds " + std::to_string(n));
  for (size_t i = 0; i < n; ++i)
    if (labels.data[i] >= d.outputSize)
      throw RangeErr("labels[" + std::to_string(i) + "] = " + std::to_string(labels.data[i]) +
                     " is not below the output size " + std::to_string(d.outputSize));
  return n;
}
}  // namespace

Napi::Value NetworkWrap::TrainEpoch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject()) throw TypeErr("trainEpoch(options): options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    const NetDesc& d = live()->desc();
    auto images = get_array<uint8_t>(o.Get("images"), "images");
    auto labels = get_array<uint8_t>(o.Get("labels"), "labels");
    auto order = get_array<uint32_t>(o.Get("order"), "order");
    auto cancel = get_array<int32_t>(o.Get("cancel"), "cancel", true);
    auto progress = get_array<int32_t>(o.Get("progress"), "progress", true);
    const size_t n = check_images_labels(d, images, labels);
    for (size_t i = 0; i < order.length; ++i)
      if (order.data[i] >= n)
        throw RangeErr("order[" + std::to_string(i) + "] = " + std::to_string(order.data[i]) +
                       " is not a valid index (images holds " + std::to_string(n) + ")");
    if (cancel.present() && cancel.length < 1) throw RangeErr("cancel must have at least one element");
    if (progress.present() && progress.length < 1) throw RangeErr("progress must have at least one element");
    TrainJob job;
    job.images = images.data;
    job.labels = labels.data;
    job.nImages = n;
    job.order = order.data;
    job.nOrder = order.length;
    job.batchSize = static_cast<int>(get_int(o, "batchSize", true, 0, 1, 1 << 20));
    {
      const int T = core_->train_threads(job.batchSize), slice = (job.batchSize + T - 1) / T;
      if (slice > d.max_rows())
        throw RangeErr("batchSize " + std::to_string(job.batchSize) + " is too large for this network: a slice of " +
                       std::to_string(slice) + " examples would exceed 2^31 values in one buffer (at most " +
                       std::to_string(d.max_rows()) + " per thread)");
    }
    job.startBatch = get_int(o, "startBatch", false, 0, 0, int64_t(1) << 40);
    job.eta = static_cast<float>(get_number(o, "eta", true, 0));
    job.momentum = static_cast<float>(get_number(o, "momentum", false, 0));
    job.l2 = static_cast<float>(get_number(o, "l2", false, 0));
    job.l1 = static_cast<float>(get_number(o, "l1", false, 0));
    job.dropoutSeed = static_cast<uint32_t>(get_int(o, "dropoutSeed", false, 0, 0, 0xFFFFFFFFLL));
    job.augment = parse_augment(o.Get("augment"));
    if (job.augment.on && d.inC != 1) throw RangeErr("augment needs a single-channel input (inputShape [H, W, 1])");
    if (job.eta < 0) throw RangeErr("eta must be >= 0");
    if (job.momentum < 0 || job.momentum >= 1) throw RangeErr("momentum must be in [0, 1)");
    if (job.l2 < 0 || job.l1 < 0) throw RangeErr("l2 and l1 must be >= 0");
    float* vel = velocity();
    if (job.momentum > 0 && !vel) throw TypeErr("momentum > 0 needs a velocity buffer (pass one to the constructor)");
    job.cancel = cancel.present() ? cancel.data : nullptr;
    job.progress = progress.present() ? progress.data : nullptr;
    auto* w = new TrainWorker(env, core_, params(), vel, job);
    if (!velocityRef_.IsEmpty()) w->keep.add(velocityRef_.Value());
    return queue(w, {images.value, labels.value, order.value, cancel.value, progress.value});
  });
}

// Queues a job; it keeps this wrapper, the params buffer and `buffers` alive until it settles.
Napi::Value NetworkWrap::queue(NetworkJobWorker* w, std::initializer_list<Napi::Value> buffers) {
  w->keep.add(Value());
  w->keep.add(paramsRef_.Value());
  for (auto v : buffers) w->keep.add(v);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value NetworkWrap::Evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto images = get_array<uint8_t>(info[0], "images");
    auto labels = get_array<uint8_t>(info[1], "labels");
    const size_t n = check_images_labels(live()->desc(), images, labels);
    return queue(new EvaluateWorker(env, core_, params(), images.data, labels.data, n), {images.value, labels.value});
  });
}

// (images): the running statistics of every batch-norm layer, re-estimated over these images
// (Uint8Array n×inputSize, n ≥ 1) in inference mode, written into params. Resolves to undefined.
Napi::Value NetworkWrap::BatchNormStatistics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const NetDesc& d = live()->desc();
    auto images = get_array<uint8_t>(info[0], "images");
    if (images.length == 0 || images.length % d.inputSize != 0)
      throw RangeErr("images has " + std::to_string(images.length) + " bytes, not a positive multiple of the input size " +
                     std::to_string(d.inputSize));
    return queue(new BatchNormStatisticsWorker(env, core_, params(), images.data, images.length / d.inputSize),
                 {images.value});
  });
}

namespace {
size_t check_input(const NetDesc& d, const ArrayView<float>& input) {
  if (input.length % d.inputSize != 0)
    throw RangeErr("input has " + std::to_string(input.length) + " values, not a multiple of the input size " +
                   std::to_string(d.inputSize));
  return input.length / d.inputSize;
}
}  // namespace

Napi::Value NetworkWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto input = get_array<float>(info[0], "input");
    const size_t n = check_input(live()->desc(), input);
    Napi::Float32Array out = Napi::Float32Array::New(env, n * core_->desc().outputSize);
    return queue(new PredictWorker(env, core_, params(), input.data, n, out), {input.value});
  });
}

Napi::Value NetworkWrap::Gradient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    const NetDesc& d = live()->desc();
    auto input = get_array<float>(info[0], "input");
    auto labels = get_array<uint8_t>(info[1], "labels");
    const size_t n = check_input(d, input);
    if (n < 1) throw RangeErr("input must hold at least one example");
    if (n > static_cast<size_t>(d.max_rows()))
      throw RangeErr("input holds " + std::to_string(n) + " examples; this network takes at most " +
                     std::to_string(d.max_rows()) + " per gradient call (2^31 values per buffer)");
    if (labels.length != n)
      throw RangeErr("labels has " + std::to_string(labels.length) + " entries but input holds " + std::to_string(n));
    for (size_t i = 0; i < n; ++i)
      if (labels.data[i] >= d.outputSize) throw RangeErr("labels[" + std::to_string(i) + "] is out of range");
    float l2 = 0, l1 = 0;
    bool dropout = false;
    uint32_t seed = 0;
    if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
      if (!info[2].IsObject()) throw TypeErr("gradient options must be an object");
      Napi::Object o = info[2].As<Napi::Object>();
      l2 = static_cast<float>(get_number(o, "l2", false, 0));
      l1 = static_cast<float>(get_number(o, "l1", false, 0));
      Napi::Value s = o.Get("dropoutSeed");
      if (!s.IsUndefined() && !s.IsNull()) {
        dropout = true;
        seed = static_cast<uint32_t>(to_int(s, "dropoutSeed", 0, 0xFFFFFFFFLL));
      }
    }
    std::unique_lock<std::mutex> lk(core_->mutex(), std::try_to_lock);
    if (!lk.owns_lock()) throw std::runtime_error("the network is busy with an asynchronous job");
    Napi::Float32Array grad = Napi::Float32Array::New(env, d.paramCount);
    const double cost = core_->gradient(params(), input.data, labels.data, static_cast<int>(n), l2, l1, dropout,
                                        seed, grad.Data());
    Napi::Object r = Napi::Object::New(env);
    r.Set("cost", Napi::Number::New(env, cost));
    r.Set("grad", grad);
    return r;
  });
}

Napi::Value NetworkWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto input = get_array<float>(info[0], "input");
    const size_t n = check_input(live()->desc(), input);
    std::unique_lock<std::mutex> lk(core_->mutex(), std::try_to_lock);
    if (!lk.owns_lock()) throw std::runtime_error("the network is busy with an asynchronous job");
    Napi::Float32Array out = Napi::Float32Array::New(env, n * core_->desc().outputSize);
    core_->predict(params(), input.data, n, out.Data());
    return out;
  });
}

}  // namespace nndl
