// Shared types of the native engine: errors that map onto JS TypeError/RangeError, small helpers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace nndl {

// Thrown by validation code that runs on the JS thread; the binding maps them to JS errors.
struct TypeErr : std::runtime_error { using std::runtime_error::runtime_error; };
struct RangeErr : std::runtime_error { using std::runtime_error::runtime_error; };

inline size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace nndl
