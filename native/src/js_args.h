// Argument checking for the binding: typed arrays and numbers read from JS with clear
// TypeError/RangeError messages (thrown as nndl::TypeErr/RangeErr, converted at the boundary).
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "common.h"

namespace nndl {

template <typename T>
struct ArrayView {
  T* data = nullptr;
  size_t length = 0;
  Napi::Value value;  // the typed array itself (to keep alive), empty when absent
  bool present() const { return !value.IsEmpty(); }
};

template <typename T>
constexpr napi_typedarray_type typed_array_type();
template <>
constexpr napi_typedarray_type typed_array_type<float>() { return napi_float32_array; }
template <>
constexpr napi_typedarray_type typed_array_type<uint8_t>() { return napi_uint8_array; }
template <>
constexpr napi_typedarray_type typed_array_type<uint32_t>() { return napi_uint32_array; }
template <>
constexpr napi_typedarray_type typed_array_type<int32_t>() { return napi_int32_array; }

template <typename T>
const char* typed_array_name();
template <>
inline const char* typed_array_name<float>() { return "Float32Array"; }
template <>
inline const char* typed_array_name<uint8_t>() { return "Uint8Array"; }
template <>
inline const char* typed_array_name<uint32_t>() { return "Uint32Array"; }
template <>
inline const char* typed_array_name<int32_t>() { return "Int32Array"; }

// Reads a typed array of element type T; `optional` accepts undefined/null (returns an empty view).
template <typename T>
ArrayView<T> get_array(Napi::Value v, const std::string& name, bool optional = false) {
  ArrayView<T> out;
  if (v.IsUndefined() || v.IsNull()) {
    if (optional) return out;
    throw TypeErr(name + " is required (a " + typed_array_name<T>() + ")");
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != typed_array_type<T>())
    throw TypeErr(name + " must be a " + std::string(typed_array_name<T>()));
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  out.data = arr.Data();
  out.length = arr.ElementLength();
  out.value = v;
  return out;
}

inline double get_number(Napi::Object o, const char* key, bool required, double def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) throw TypeErr(std::string(key) + " is required (a number)");
    return def;
  }
  if (!v.IsNumber()) throw TypeErr(std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw RangeErr(std::string(key) + " must be finite");
  return d;
}

inline int64_t get_int(Napi::Object o, const char* key, bool required, int64_t def, int64_t lo, int64_t hi) {
  const double d = get_number(o, key, required, static_cast<double>(def));
  if (d != std::floor(d)) throw RangeErr(std::string(key) + " must be an integer");
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw RangeErr(std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return static_cast<int64_t>(d);
}

inline int64_t to_int(Napi::Value v, const std::string& name, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) throw TypeErr(name + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) throw RangeErr(name + " must be an integer");
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw RangeErr(name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return static_cast<int64_t>(d);
}

// Runs f, converting our exceptions to JS TypeError/RangeError/Error (thrown as Napi::Error).
template <typename F>
auto guard(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const TypeErr& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const RangeErr& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "out of memory");
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

}  // namespace nndl
