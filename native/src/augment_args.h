// Reads an augmentation spec from JS (trainEpoch's `augment` option and kernels.augment):
// { seed, probability?, rotation?, scale?, shear?, translate?, elasticAlpha?, elasticSigma?,
//   thickness?, bookShifts? }; absent numbers are 0 (probability: 1). RangeErr naming the field.
#pragma once
#include <napi.h>

#include "augment.h"
#include "js_args.h"

namespace nndl {

inline AugmentSpec parse_augment(Napi::Value v) {
  AugmentSpec s;
  if (v.IsUndefined() || v.IsNull()) return s;
  if (!v.IsObject()) throw TypeErr("augment must be an object");
  Napi::Object o = v.As<Napi::Object>();
  s.on = true;
  s.seed = static_cast<uint32_t>(get_int(o, "seed", false, 0, 0, 0xFFFFFFFFLL));
  s.probability = static_cast<float>(get_number(o, "probability", false, 1));
  s.rotation = static_cast<float>(get_number(o, "rotation", false, 0));
  s.scale = static_cast<float>(get_number(o, "scale", false, 0));
  s.shear = static_cast<float>(get_number(o, "shear", false, 0));
  s.translate = static_cast<float>(get_number(o, "translate", false, 0));
  s.elasticAlpha = static_cast<float>(get_number(o, "elasticAlpha", false, 0));
  s.elasticSigma = static_cast<float>(get_number(o, "elasticSigma", false, 0));
  s.thickness = static_cast<float>(get_number(o, "thickness", false, 0));
  Napi::Value b = o.Get("bookShifts");
  if (!b.IsUndefined() && !b.IsNull()) {
    if (!b.IsBoolean()) throw TypeErr("bookShifts must be a boolean");
    s.bookShifts = b.As<Napi::Boolean>().Value();
  }
  check_augment(s);
  return s;
}

}  // namespace nndl
