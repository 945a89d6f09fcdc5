// Validation of a network description: walks the shape chain from the input, checks every declared
// shape against it, and lays the parameters out (per parametric layer: W then b, then a
// batch-norm conv layer's γ, running mean and running variance). Every size is
// computed with checked 64-bit products: an absurd shape is a RangeError naming the field, never a
// wrapped int (inputShape [65536, 65536, 1] used to give an input size of 0 and a SIGFPE later).
#include <cstdint>
#include <string>

#include "common.h"
#include "network.h"

namespace nndl {

namespace {
std::string shape_str(int h, int w, int c) {
  return "[" + std::to_string(h) + "," + std::to_string(w) + "," + std::to_string(c) + "]";
}
void check_decl(const int* decl, int h, int w, int c, const std::string& what) {
  if (decl[0] < 0) return;
  if (decl[0] != h || decl[1] != w || decl[2] != c)
    throw RangeErr(what + " is " + shape_str(decl[0], decl[1], decl[2]) + " but the previous layer gives " +
                   shape_str(h, w, c));
}
constexpr long long kMaxParams = 1LL << 30;

// values = a·b·c for one example, checked: a RangeError naming `what` when it overflows or exceeds
// kMaxExampleFloats (so every per-example size below fits an int, and max_rows() keeps whole buffers
// of rows examples within int indices for the kernels).
int checked_size(int64_t a, int64_t b, int64_t c, const std::string& what) {
  int64_t ab = 0, abc = 0;
  const bool overflow = __builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, c, &abc);
  if (overflow || abc > kMaxExampleFloats)
    throw RangeErr(what + " holds " + (overflow ? std::string("more than 2^63") : std::to_string(abc)) +
                   " values per example, more than the limit of " + std::to_string(kMaxExampleFloats));
  return static_cast<int>(abc);
}
}  // namespace

void finalize_desc(NetDesc& d) {
  if (d.inH < 1 || d.inW < 1 || d.inC < 1) throw RangeErr("inputShape must hold three positive integers");
  if (d.layers.empty()) throw RangeErr("layers must not be empty");
  d.inputSize = checked_size(d.inH, d.inW, d.inC, "desc.inputShape " + shape_str(d.inH, d.inW, d.inC));
  d.maxExampleFloats = static_cast<size_t>(d.inputSize);
  int h = d.inH, w = d.inW, c = d.inC;
  size_t off = 0;
  int pidx = 0;
  for (size_t i = 0; i < d.layers.size(); ++i) {
    LayerDesc& L = d.layers[i];
    const std::string where = "layers[" + std::to_string(i) + "]";
    const bool last = i + 1 == d.layers.size();
    L.inH = h; L.inW = w; L.inC = c;
    L.inSize = h * w * c;  // the previous layer's output size (or the input's), already checked
    if (L.act == Act::Softmax && (!last || L.kind != LayerKind::Dense))
      throw RangeErr(where + ": softmax is only allowed on the last (dense) layer");
    switch (L.kind) {
      case LayerKind::Dense: {
        if (L.declIn[0] >= 0 && L.declIn[0] != L.inSize)
          throw RangeErr(where + ".inSize is " + std::to_string(L.declIn[0]) + " but the previous layer gives " +
                         std::to_string(L.inSize));
        if (L.declOut[0] < 1) throw RangeErr(where + ".outSize must be a positive integer");
        if (!(L.dropout >= 0.f && L.dropout < 1.f)) throw RangeErr(where + ".dropout must be in [0, 1)");
        h = 1; w = 1; c = L.declOut[0];
        L.wCount = static_cast<size_t>(c) * L.inSize;  // < 2^24 · 2^28: no overflow; the total is checked below
        L.bCount = c;
        break;
      }
      case LayerKind::Conv: {
        check_decl(L.declIn, h, w, c, where + ".inShape");
        if (L.filters < 1) throw RangeErr(where + ".filters must be a positive integer");
        if (L.kernel < 1 || L.kernel > h || L.kernel > w)
          throw RangeErr(where + ".kernel must be between 1 and the input size " + shape_str(h, w, c));
        L.conv = ConvShape{h, w, c, L.filters, L.kernel};
        h = h - L.kernel + 1; w = w - L.kernel + 1; c = L.filters;
        check_decl(L.declOut, h, w, c, where + ".outShape");
        // im2col rows of one example: P positions × k·k·inC (k <= h, w, so k·k·inC <= the input size)
        const int64_t kkc = static_cast<int64_t>(L.kernel) * L.kernel * L.inC;
        const int col = checked_size(static_cast<int64_t>(h) * w, kkc, 1,
                                     where + ": the im2col buffer (" + std::to_string(static_cast<int64_t>(h) * w) +
                                         " positions × " + std::to_string(kkc) + ")");
        if (static_cast<size_t>(col) > d.maxExampleFloats) d.maxExampleFloats = col;
        L.wCount = static_cast<size_t>(L.filters) * L.kernel * L.kernel * L.inC;
        L.bCount = L.filters;
        L.nCount = L.batchNorm ? 3 * static_cast<size_t>(L.filters) : 0;
        break;
      }
      case LayerKind::Pool: {
        check_decl(L.declIn, h, w, c, where + ".inShape");
        if (h < 2 || w < 2) throw RangeErr(where + ": pooling needs an input of at least 2×2");
        if (i == 0) throw RangeErr(where + ": pooling cannot be the first layer");
        L.poolShape = PoolShape{h, w, c};
        h /= 2; w /= 2;
        check_decl(L.declOut, h, w, c, where + ".outShape");
        break;
      }
    }
    L.outH = h; L.outW = w; L.outC = c;
    L.outSize = checked_size(h, w, c, where + ".outShape " + shape_str(h, w, c));
    if (static_cast<size_t>(L.outSize) > d.maxExampleFloats) d.maxExampleFloats = L.outSize;
    if (L.kind != LayerKind::Pool) {
      L.paramIndex = pidx++;
      L.wOff = off;
      off += L.wCount;
      L.bOff = off;
      off += L.bCount;
      L.nOff = off;
      off += L.nCount;
      if (static_cast<long long>(off) > kMaxParams)
        throw RangeErr(where + ": the network has " + std::to_string(off) + " parameters, more than the limit of " +
                       std::to_string(kMaxParams));
    }
  }
  if (d.layers.back().kind != LayerKind::Dense) throw RangeErr("the last layer must be dense");
  d.outputSize = d.layers.back().outSize;
  if (d.outputSize < 2 || d.outputSize > 256) throw RangeErr("the output layer must have 2 to 256 units");
  d.paramCount = off;
  d.parametricLayers = pidx;
}

}  // namespace nndl
