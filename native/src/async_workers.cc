// Execute() runs on a libuv pool thread under the network's mutex (one job per network at a time);
// OnOK/OnError run on the JS thread and settle the promise.
#include "async_workers.h"

#include <algorithm>
#include <mutex>
#include <string>

namespace nndl {
namespace {

// A JS typed array holding a copy of v (Float64Array for double, Uint32Array for uint32_t).
template <class T>
Napi::TypedArrayOf<T> typed_array_copy(Napi::Env env, const std::vector<T>& v) {
  Napi::TypedArrayOf<T> a = Napi::TypedArrayOf<T>::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

}  // namespace

NetworkJobWorker::NetworkJobWorker(Napi::Env env, const char* name, std::shared_ptr<NetworkCore> core)
    : Napi::AsyncWorker(env, (std::string("nndl.") + name).c_str()),
      deferred_(Napi::Promise::Deferred::New(env)),
      core_(std::move(core)),
      name_(name) {}

void NetworkJobWorker::Execute() {
  try {
    std::lock_guard<std::mutex> lk(core_->mutex());
    Run(*core_);
  } catch (const std::exception& e) {
    SetError(std::string(name_) + " failed: " + e.what());
  }
}

void NetworkJobWorker::OnError(const Napi::Error& e) { deferred_.Reject(e.Value()); }

TrainWorker::TrainWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, float* params, float* velocity, const TrainJob& job)
    : NetworkJobWorker(env, "trainEpoch", std::move(core)), params_(params), velocity_(velocity), job_(job) {}

void TrainWorker::Run(NetworkCore& core) { core.train(params_, velocity_, job_, result_); }

void TrainWorker::OnOK() {
  Napi::Env env = Env();
  Napi::Object r = Napi::Object::New(env);
  r.Set("batchesDone", Napi::Number::New(env, static_cast<double>(result_.batchesDone)));
  r.Set("cancelled", Napi::Boolean::New(env, result_.cancelled));
  r.Set("examples", Napi::Number::New(env, static_cast<double>(result_.examples)));
  r.Set("costSum", Napi::Number::New(env, result_.costSum));
  r.Set("correct", Napi::Number::New(env, static_cast<double>(result_.correct)));
  r.Set("gradNormSum", typed_array_copy(env, result_.gradNormSum));
  deferred_.Resolve(r);
}

EvaluateWorker::EvaluateWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, const float* params, const uint8_t* images,
                               const uint8_t* labels, size_t n)
    : NetworkJobWorker(env, "evaluate", std::move(core)), params_(params), images_(images), labels_(labels), n_(n) {}

void EvaluateWorker::Run(NetworkCore& core) { core.evaluate(params_, images_, labels_, n_, result_); }

void EvaluateWorker::OnOK() {
  Napi::Env env = Env();
  Napi::Object r = Napi::Object::New(env);
  r.Set("costSum", Napi::Number::New(env, result_.costSum));
  r.Set("correct", Napi::Number::New(env, static_cast<double>(result_.correct)));
  r.Set("confusion", typed_array_copy(env, result_.confusion));
  deferred_.Resolve(r);
}

BatchNormStatisticsWorker::BatchNormStatisticsWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, float* params,
                                                     const uint8_t* images, size_t n)
    : NetworkJobWorker(env, "batchNormStatistics", std::move(core)), params_(params), images_(images), n_(n) {}

void BatchNormStatisticsWorker::Run(NetworkCore& core) { core.batch_norm_statistics(params_, images_, n_); }

void BatchNormStatisticsWorker::OnOK() { deferred_.Resolve(Env().Undefined()); }

PredictWorker::PredictWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, const float* params, const float* input, size_t n,
                             Napi::Float32Array output)
    : NetworkJobWorker(env, "predict", std::move(core)),
      params_(params),
      input_(input),
      n_(n),
      out_(output.Data()),
      outputRef_(Napi::Persistent(static_cast<Napi::Object>(output))) {}

void PredictWorker::Run(NetworkCore& core) { core.predict(params_, input_, n_, out_); }

void PredictWorker::OnOK() { deferred_.Resolve(outputRef_.Value()); }

}  // namespace nndl
