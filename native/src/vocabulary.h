// The engine's vocabulary: the one table per enum that maps its values to the names the
// TypeScript side sends (costs, activations, pool modes). Parsing, the "must be one of" messages
// and the addon's vocabulary() export all read these tables, so adding a value is one row here plus
// its formula; src/engine/spec.ts holds the TypeScript tables and test/engine/vocabulary.test.ts
// fails when the two disagree.
#pragma once
#include <cstddef>
#include <string>

#include "activation.h"
#include "cost.h"
#include "pool.h"

namespace nndl {

template <typename E>
struct Named {
  E value;
  const char* name;
};

inline constexpr Named<Cost> kCosts[] = {
    {Cost::Quadratic, "quadratic"}, {Cost::CrossEntropy, "cross-entropy"}, {Cost::LogLikelihood, "log-likelihood"}};
inline constexpr Named<Act> kActivations[] = {
    {Act::Sigmoid, "sigmoid"}, {Act::Tanh, "tanh"}, {Act::Relu, "relu"}, {Act::Linear, "linear"}, {Act::Softmax, "softmax"}};
inline constexpr Named<PoolMode> kPoolModes[] = {{PoolMode::Max, "max"}, {PoolMode::L2, "l2"}, {PoolMode::Avg, "avg"}};

template <typename E, size_t N>
bool parse_named(const Named<E> (&table)[N], const std::string& s, E* out) {
  for (const auto& row : table)
    if (s == row.name) {
      *out = row.value;
      return true;
    }
  return false;
}

template <typename E, size_t N>
const char* name_of(const Named<E> (&table)[N], E value) {
  for (const auto& row : table)
    if (row.value == value) return row.name;
  return "?";
}

// "a, b, c": for the "must be one of" messages.
template <typename E, size_t N>
std::string names_of(const Named<E> (&table)[N]) {
  std::string s;
  for (const auto& row : table) s += (s.empty() ? "" : ", ") + std::string(row.name);
  return s;
}

}  // namespace nndl
