// addon.kernels (the fast kernels) and addon.reference (their naive references), for tests.
#pragma once
#include <napi.h>

namespace nndl {

Napi::Object make_kernels(Napi::Env env, bool reference);

}  // namespace nndl
