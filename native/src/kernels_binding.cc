// Exposes each fast kernel and its naive reference with the same JS signature, so tests can
// compare them on arbitrary shapes:
//   gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)   (C updated in place)
//   convForward({H,W,C,F,K}, x, W, b, rows) -> z (pre-activation)
//   convBackward({H,W,C,F,K}, x, W, dz, rows) -> { dW, db, dx }
//   poolForward(mode, {H,W,C}, x, rows) -> y;  poolBackward(mode, {H,W,C}, x, y, dy, rows) -> dx
//   denseBackwardStep({rows,in,out,eta,l2}, x, W, dz, withDx) -> { W (stepped copy), db, dx | null, sq }
#include "kernels_binding.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "augment_args.h"
#include "conv.h"
#include "dense.h"
#include "gemm.h"
#include "js_args.h"
#include "vocabulary.h"
#include "pool.h"

namespace nndl {

namespace {

void need(size_t have, size_t want, const std::string& name) {
  if (have < want)
    throw RangeErr(name + " has " + std::to_string(have) + " elements but needs " + std::to_string(want));
}

// Minimum length of a row-major matrix of `rows` rows of `cols` with leading dimension ld.
size_t mat_len(int rows, int cols, int ld, const std::string& name) {
  if (ld < cols) throw RangeErr("leading dimension of " + name + " is smaller than its row length");
  return rows == 0 || cols == 0 ? 0 : static_cast<size_t>(rows - 1) * ld + cols;
}

Napi::Value Gemm(const Napi::CallbackInfo& info, bool reference) {
  if (info.Length() < 13) throw TypeErr("gemm needs 13 arguments");
  const bool ta = info[0].ToBoolean(), tb = info[1].ToBoolean();
  const int M = static_cast<int>(to_int(info[2], "M", 0, 1 << 24));
  const int N = static_cast<int>(to_int(info[3], "N", 0, 1 << 24));
  const int K = static_cast<int>(to_int(info[4], "K", 0, 1 << 24));
  if (!info[5].IsNumber() || !info[10].IsNumber()) throw TypeErr("alpha and beta must be numbers");
  const float alpha = info[5].As<Napi::Number>().FloatValue(), beta = info[10].As<Napi::Number>().FloatValue();
  auto A = get_array<float>(info[6], "A");
  auto B = get_array<float>(info[8], "B");
  auto C = get_array<float>(info[11], "C");
  const int lda = static_cast<int>(to_int(info[7], "lda", 1, 1 << 24));
  const int ldb = static_cast<int>(to_int(info[9], "ldb", 1, 1 << 24));
  const int ldc = static_cast<int>(to_int(info[12], "ldc", 1, 1 << 24));
  need(A.length, ta ? mat_len(K, M, lda, "A") : mat_len(M, K, lda, "A"), "A");
  need(B.length, tb ? mat_len(N, K, ldb, "B") : mat_len(K, N, ldb, "B"), "B");
  need(C.length, mat_len(M, N, ldc, "C"), "C");
  (reference ? sgemm_ref : sgemm)(ta, tb, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
  return info.Env().Undefined();
}

int shape_int(Napi::Object o, const char* key) { return static_cast<int>(get_int(o, key, true, 0, 1, 1 << 16)); }

ConvShape conv_shape(Napi::Value v) {
  if (!v.IsObject()) throw TypeErr("shape must be an object {H, W, C, F, K}");
  Napi::Object o = v.As<Napi::Object>();
  ConvShape s{shape_int(o, "H"), shape_int(o, "W"), shape_int(o, "C"), shape_int(o, "F"), shape_int(o, "K")};
  if (s.K > s.H || s.K > s.W) throw RangeErr("K must not exceed H or W");
  return s;
}

// What both conv calls take: (shape, x, W, third, rows), x and W checked against the shape;
// the caller checks `third` (b or dz), whose length the two calls want differently.
struct ConvArgs {
  ConvShape s;
  int rows;
  ArrayView<float> x, W, third;
};

ConvArgs conv_args(const Napi::CallbackInfo& info, const char* third) {
  ConvArgs a{conv_shape(info[0]), static_cast<int>(to_int(info[4], "rows", 1, 1 << 20)), get_array<float>(info[1], "x"),
             get_array<float>(info[2], "W"), get_array<float>(info[3], third)};
  need(a.x.length, static_cast<size_t>(a.rows) * a.s.H * a.s.W * a.s.C, "x");
  need(a.W.length, static_cast<size_t>(a.s.F) * a.s.KKC(), "W");
  return a;
}

Napi::Value ConvForward(const Napi::CallbackInfo& info, bool reference) {
  const auto [s, rows, x, W, b] = conv_args(info, "b");
  need(b.length, s.F, "b");
  Napi::Float32Array z = Napi::Float32Array::New(info.Env(), static_cast<size_t>(rows) * s.P() * s.F);
  if (reference) {
    conv_forward_ref(s, x.data, W.data, b.data, z.Data(), rows);
  } else {
    std::vector<float> col(static_cast<size_t>(rows) * s.P() * s.KKC());
    conv_forward(s, x.data, W.data, b.data, col.data(), z.Data(), rows, Act::Linear);
  }
  return z;
}

Napi::Value ConvBackward(const Napi::CallbackInfo& info, bool reference) {
  Napi::Env env = info.Env();
  const auto [s, rows, x, W, dz] = conv_args(info, "dz");
  need(dz.length, static_cast<size_t>(rows) * s.P() * s.F, "dz");
  auto dW = Napi::Float32Array::New(env, static_cast<size_t>(s.F) * s.KKC());
  auto db = Napi::Float32Array::New(env, s.F);
  auto dx = Napi::Float32Array::New(env, static_cast<size_t>(rows) * s.H * s.W * s.C);
  if (reference) {
    conv_backward_ref(s, x.data, W.data, dz.data, dW.Data(), db.Data(), dx.Data(), rows);
  } else {
    std::vector<float> col(static_cast<size_t>(rows) * s.P() * s.KKC());
    const size_t inSize = static_cast<size_t>(s.H) * s.W * s.C, colSize = static_cast<size_t>(s.P()) * s.KKC();
    for (int n = 0; n < rows; ++n) im2col(s, x.data + n * inSize, col.data() + n * colSize);
    conv_backward(s, col.data(), W.data, dz.data, dW.Data(), db.Data(), dx.Data(), rows);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("dW", dW);
  r.Set("db", db);
  r.Set("dx", dx);
  return r;
}

PoolMode pool_mode(Napi::Value v) {
  PoolMode m;
  if (!v.IsString() || !parse_pool(v.As<Napi::String>().Utf8Value(), &m))
    throw RangeErr("mode must be one of " + names_of(kPoolModes));
  return m;
}

PoolShape pool_shape(Napi::Value v) {
  if (!v.IsObject()) throw TypeErr("shape must be an object {H, W, C}");
  Napi::Object o = v.As<Napi::Object>();
  PoolShape s{shape_int(o, "H"), shape_int(o, "W"), shape_int(o, "C")};
  if (s.H < 2 || s.W < 2) throw RangeErr("pooling needs H, W >= 2");
  return s;
}

// What both pool calls take first: (mode, shape, x, ..., rows at info[rowsAt]), x checked against the shape.
struct PoolArgs {
  PoolMode m;
  PoolShape s;
  int rows;
  ArrayView<float> x;
  size_t in_len() const { return static_cast<size_t>(rows) * s.H * s.W * s.C; }
  size_t out_len() const { return static_cast<size_t>(rows) * s.OH() * s.OW() * s.C; }
};

PoolArgs pool_args(const Napi::CallbackInfo& info, size_t rowsAt) {
  PoolArgs a{pool_mode(info[0]), pool_shape(info[1]), static_cast<int>(to_int(info[rowsAt], "rows", 1, 1 << 20)),
             get_array<float>(info[2], "x")};
  need(a.x.length, a.in_len(), "x");
  return a;
}

Napi::Value PoolForward(const Napi::CallbackInfo& info, bool reference) {
  const PoolArgs a = pool_args(info, 3);
  const auto& [m, s, rows, x] = a;
  auto y = Napi::Float32Array::New(info.Env(), a.out_len());
  (reference ? pool_forward_ref : pool_forward)(m, s, x.data, y.Data(), rows);
  return y;
}

Napi::Value PoolBackward(const Napi::CallbackInfo& info, bool reference) {
  const PoolArgs a = pool_args(info, 5);
  const auto& [m, s, rows, x] = a;
  auto y = get_array<float>(info[3], "y");
  auto dy = get_array<float>(info[4], "dy");
  need(y.length, a.out_len(), "y");
  need(dy.length, a.out_len(), "dy");
  auto dx = Napi::Float32Array::New(info.Env(), a.in_len());
  (reference ? pool_backward_ref : pool_backward)(m, s, x.data, y.data, dy.data, dx.Data(), rows);
  return dx;
}

float shape_float(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) throw TypeErr(std::string(key) + " must be a finite number");
  return v.As<Napi::Number>().FloatValue();
}

// The one-thread fused dense backward + SGD step (mean over the rows: invM = 1/rows), on a copy of W.
Napi::Value DenseBackwardStep(const Napi::CallbackInfo& info, bool reference) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw TypeErr("shape must be an object {rows, in, out, eta, l2}");
  Napi::Object o = info[0].As<Napi::Object>();
  const int rows = static_cast<int>(get_int(o, "rows", true, 0, 1, 1 << 12));
  const int in = static_cast<int>(get_int(o, "in", true, 0, 1, 1 << 16));
  const int out = static_cast<int>(get_int(o, "out", true, 0, 1, 1 << 16));
  const float eta = shape_float(o, "eta"), l2 = shape_float(o, "l2");
  auto x = get_array<float>(info[1], "x");
  auto W = get_array<float>(info[2], "W");
  auto dz = get_array<float>(info[3], "dz");
  const bool withDx = info[4].ToBoolean();
  need(x.length, static_cast<size_t>(rows) * in, "x");
  need(W.length, static_cast<size_t>(out) * in, "W");
  need(dz.length, static_cast<size_t>(rows) * out, "dz");
  auto Wn = Napi::Float32Array::New(env, static_cast<size_t>(out) * in);
  std::copy(W.data, W.data + static_cast<size_t>(out) * in, Wn.Data());
  auto db = Napi::Float32Array::New(env, out);
  Napi::Value dxv = env.Null();
  float* dx = nullptr;
  if (withDx) {
    auto a = Napi::Float32Array::New(env, static_cast<size_t>(rows) * in);
    dx = a.Data();
    dxv = a;
  }
  const double sq = (reference ? dense_backward_step_ref : dense_backward_step)(x.data, Wn.Data(), dz.data, db.Data(), dx, rows,
                                                                               in, out, eta, l2, 1.f / rows);
  Napi::Object r = Napi::Object::New(env);
  r.Set("W", Wn);
  r.Set("db", db);
  r.Set("dx", dxv);
  r.Set("sq", Napi::Number::New(env, sq));
  return r;
}

// augment(spec, images, rows, H, W, posBase) -> a distorted copy of images (rows × H × W floats).
// Only under kernels: its naive reference is the TypeScript one in test/native/augment-reference.ts.
Napi::Value Augment(const Napi::CallbackInfo& info, bool) {
  const AugmentSpec s = parse_augment(info[0]);
  const int rows = static_cast<int>(to_int(info[2], "rows", 0, 1 << 20));
  const int H = static_cast<int>(to_int(info[3], "H", 1, 4096));
  const int W = static_cast<int>(to_int(info[4], "W", 1, 4096));
  const double pos = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : -1;
  if (!(pos >= 0 && pos <= 9007199254740991.0 && pos == std::floor(pos))) throw RangeErr("posBase must be a non-negative integer");
  auto x = get_array<float>(info[1], "images");
  need(x.length, static_cast<size_t>(rows) * H * W, "images");
  auto out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(rows) * H * W);
  std::copy(x.data, x.data + static_cast<size_t>(rows) * H * W, out.Data());
  augment_rows(s, out.Data(), rows, H, W, static_cast<uint64_t>(pos));
  return out;
}

template <Napi::Value (*F)(const Napi::CallbackInfo&, bool), bool R>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&] { return F(info, R); });
}

template <bool R>
Napi::Object make(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemm", Napi::Function::New(env, Guarded<Gemm, R>, "gemm"));
  o.Set("convForward", Napi::Function::New(env, Guarded<ConvForward, R>, "convForward"));
  o.Set("convBackward", Napi::Function::New(env, Guarded<ConvBackward, R>, "convBackward"));
  o.Set("poolForward", Napi::Function::New(env, Guarded<PoolForward, R>, "poolForward"));
  o.Set("poolBackward", Napi::Function::New(env, Guarded<PoolBackward, R>, "poolBackward"));
  o.Set("denseBackwardStep", Napi::Function::New(env, Guarded<DenseBackwardStep, R>, "denseBackwardStep"));
  if (!R) o.Set("augment", Napi::Function::New(env, Guarded<Augment, R>, "augment"));
  return o;
}

}  // namespace

Napi::Object make_kernels(Napi::Env env, bool reference) { return reference ? make<true>(env) : make<false>(env); }

}  // namespace nndl
