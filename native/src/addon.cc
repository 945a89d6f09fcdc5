// Module entry: exports only (info, vocabulary, setGemm, describe, Network, kernels, reference).
#include <napi.h>

#include <thread>

#include "gemm.h"
#include "js_args.h"
#include "kernels_binding.h"
#include "network_wrap.h"
#include "vocabulary.h"

namespace {

const char* simd_name() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE2__)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "scalar";
#endif
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemm", nndl::gemm_impl_name(nndl::gemm_impl()));
  o.Set("openblas", Napi::Boolean::New(env, nndl::gemm_have_openblas()));
  o.Set("simd", simd_name());
  const unsigned hc = std::thread::hardware_concurrency();
  o.Set("maxThreads", Napi::Number::New(env, hc == 0 ? 1 : hc));
  return o;
}

template <typename E, size_t N>
Napi::Array names_array(Napi::Env env, const nndl::Named<E> (&table)[N]) {
  Napi::Array a = Napi::Array::New(env, N);
  for (size_t i = 0; i < N; ++i) a.Set(static_cast<uint32_t>(i), table[i].name);
  return a;
}

// vocabulary(): the names this build knows, from its tables (test/engine/vocabulary.test.ts
// compares them with the TypeScript tables), and the cost's log floor.
Napi::Value Vocabulary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("costs", names_array(env, nndl::kCosts));
  o.Set("activations", names_array(env, nndl::kActivations));
  o.Set("poolModes", names_array(env, nndl::kPoolModes));
  o.Set("costLogFloor", Napi::Number::New(env, nndl::kCostLogFloor));
  return o;
}

// setGemm('portable' | 'openblas'): process-wide switch (tests compare both in one build).
Napi::Value SetGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return nndl::guard(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw nndl::TypeErr("setGemm expects 'portable' or 'openblas'");
    const std::string s = info[0].As<Napi::String>().Utf8Value();
    if (s == "portable") nndl::set_gemm_impl(nndl::GemmImpl::Portable);
    else if (s == "openblas") {
      if (!nndl::set_gemm_impl(nndl::GemmImpl::OpenBlas))
        throw nndl::RangeErr("this build has no OpenBLAS (built without it or NNDL_BLAS=0)");
    } else throw nndl::RangeErr("setGemm expects 'portable' or 'openblas', got '" + s + "'");
    return Napi::String::New(env, s);
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("vocabulary", Napi::Function::New(env, Vocabulary, "vocabulary"));
  exports.Set("setGemm", Napi::Function::New(env, SetGemm, "setGemm"));
  exports.Set("describe", Napi::Function::New(env, nndl::Describe, "describe"));
  exports.Set("Network", nndl::NetworkWrap::Define(env));
  exports.Set("kernels", nndl::make_kernels(env, false));
  exports.Set("reference", nndl::make_kernels(env, true));
  return exports;
}

}  // namespace

NODE_API_MODULE(nndl, Init)
