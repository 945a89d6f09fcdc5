// AsyncWorkers that run training, evaluation and prediction on the libuv pool. Each carries a
// plain C++ job struct plus persistent references to the JS buffers it reads or writes, so those
// stay alive while Execute() (which never touches JS values) runs. Each also shares ownership of
// the NetworkCore: a Network disposed while jobs are queued or running is freed when the last ends.
#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "network.h"

namespace nndl {

class NetworkWrap;

// Keeps JS objects alive for the life of a worker.
class KeepAlive {
 public:
  void add(Napi::Value v) {
    if (!v.IsEmpty() && v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

 private:
  std::vector<Napi::ObjectReference> refs_;
};

// What every network job shares: a promise settled on the JS thread, shared ownership of the
// NetworkCore, and Execute() running Run() under the network's mutex (one job per network at a
// time), an exception becoming the rejection "<name> failed: ...".
class NetworkJobWorker : public Napi::AsyncWorker {
 public:
  Napi::Promise promise() { return deferred_.Promise(); }
  KeepAlive keep;

 protected:
  // name: the JS method ("trainEpoch"); the async resource is "nndl.<name>".
  NetworkJobWorker(Napi::Env env, const char* name, std::shared_ptr<NetworkCore> core);
  virtual void Run(NetworkCore& core) = 0;
  void Execute() final;
  void OnError(const Napi::Error& e) override;

  Napi::Promise::Deferred deferred_;

 private:
  std::shared_ptr<NetworkCore> core_;
  const char* name_;
};

class TrainWorker : public NetworkJobWorker {
 public:
  TrainWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, float* params, float* velocity, const TrainJob& job);

 protected:
  void Run(NetworkCore& core) override;
  void OnOK() override;

 private:
  float* params_;
  float* velocity_;
  TrainJob job_;
  TrainResult result_;
};

class EvaluateWorker : public NetworkJobWorker {
 public:
  EvaluateWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, const float* params, const uint8_t* images,
                 const uint8_t* labels, size_t n);

 protected:
  void Run(NetworkCore& core) override;
  void OnOK() override;

 private:
  const float* params_;
  const uint8_t* images_;
  const uint8_t* labels_;
  size_t n_;
  EvalResult result_;
};

// Rewrites the running statistics of the batch-norm layers inside params (NetworkCore::batch_norm_statistics).
class BatchNormStatisticsWorker : public NetworkJobWorker {
 public:
  BatchNormStatisticsWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, float* params, const uint8_t* images,
                            size_t n);

 protected:
  void Run(NetworkCore& core) override;
  void OnOK() override;

 private:
  float* params_;
  const uint8_t* images_;
  size_t n_;
};

class PredictWorker : public NetworkJobWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, const float* params, const float* input, size_t n,
                Napi::Float32Array output);

 protected:
  void Run(NetworkCore& core) override;
  void OnOK() override;

 private:
  const float* params_;
  const float* input_;
  size_t n_;
  float* out_;
  Napi::ObjectReference outputRef_;
};

}  // namespace nndl
