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

class TrainWorker : public Napi::AsyncWorker {
 public:
  TrainWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, float* params, float* velocity, const TrainJob& job);
  Napi::Promise promise() { return deferred_.Promise(); }
  KeepAlive keep;

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<NetworkCore> core_;
  float* params_;
  float* velocity_;
  TrainJob job_;
  TrainResult result_;
};

class EvaluateWorker : public Napi::AsyncWorker {
 public:
  EvaluateWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, const float* params, const uint8_t* images,
                 const uint8_t* labels, size_t n);
  Napi::Promise promise() { return deferred_.Promise(); }
  KeepAlive keep;

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<NetworkCore> core_;
  const float* params_;
  const uint8_t* images_;
  const uint8_t* labels_;
  size_t n_;
  EvalResult result_;
};

class PredictWorker : public Napi::AsyncWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<NetworkCore> core, const float* params, const float* input, size_t n,
                Napi::Float32Array output);
  Napi::Promise promise() { return deferred_.Promise(); }
  KeepAlive keep;

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<NetworkCore> core_;
  const float* params_;
  const float* input_;
  size_t n_;
  float* out_;
  Napi::ObjectReference outputRef_;
};

}  // namespace nndl
