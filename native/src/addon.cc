#include <napi.h>
// Placeholder entry point; the engine's operations are registered here.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef NNDL_HAVE_OPENBLAS
  exports.Set("gemm", Napi::String::New(env, "openblas"));
#else
  exports.Set("gemm", Napi::String::New(env, "portable"));
#endif
  return exports;
}
NODE_API_MODULE(nndl, Init)
