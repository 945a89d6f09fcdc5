// The JS class Network: parses and validates the description, owns the NetworkCore, keeps the
// JS parameter (and velocity) buffers alive, and validates every call before queueing work.
// dispose() releases the core (scratch, threads) deterministically instead of at garbage collection.
#pragma once
#include <napi.h>

#include <initializer_list>
#include <memory>

#include "network.h"

namespace nndl {

class NetworkJobWorker;

// What JS sees of a Network: (JS name, C++ method) pairs, methods and read-only properties. One
// list for the declarations below and for DefineClass (network_wrap.cc); src/engine/native.ts
// types the same names.
#define NNDL_NETWORK_METHODS(X)    \
  X("trainEpoch", TrainEpoch)     \
  X("evaluate", Evaluate)         \
  X("batchNormStatistics", BatchNormStatistics) \
  X("predict", Predict)           \
  X("gradient", Gradient)         \
  X("forward", Forward)           \
  X("trainThreads", TrainThreads) \
  X("dispose", Dispose)
#define NNDL_NETWORK_GETTERS(X)       \
  X("paramCount", GetParamCount)     \
  X("threads", GetThreads)           \
  X("scratchBytes", GetScratchBytes) \
  X("inference", GetInference)       \
  X("disposed", GetDisposed)

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NetworkWrap(const Napi::CallbackInfo& info);

  // The live core; throws (a JS Error) once dispose() was called.
  NetworkCore& core() { return *live(); }
  // Current data pointers of the shared buffers (re-read per call: they must still be attached).
  float* params();
  float* velocity();  // null when the network was built without one

 private:
#define NNDL_DECLARE_MEMBER(jsName, method) Napi::Value method(const Napi::CallbackInfo& info);
  NNDL_NETWORK_METHODS(NNDL_DECLARE_MEMBER)
  NNDL_NETWORK_GETTERS(NNDL_DECLARE_MEMBER)
#undef NNDL_DECLARE_MEMBER
  const std::shared_ptr<NetworkCore>& live();
  Napi::Value queue(NetworkJobWorker* w, std::initializer_list<Napi::Value> buffers);

  // Shared with the AsyncWorkers of queued and running jobs; dispose() drops this reference.
  std::shared_ptr<NetworkCore> core_;
  size_t paramCount_ = 0;
  Napi::ObjectReference paramsRef_, velocityRef_;
};

// Parses the JSON description (already JSON.parse'd into a JS object) into a NetDesc and validates it.
NetDesc parse_desc(Napi::Object d);
// The same from the JSON text (a TypeError when it is not a string holding an object).
NetDesc parse_desc_json(Napi::Env env, Napi::Value text);
// addon.describe(descJson): the validated description with every shape and parameter offset filled in.
Napi::Value Describe(const Napi::CallbackInfo& info);

}  // namespace nndl
