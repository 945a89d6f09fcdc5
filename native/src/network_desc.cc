// Validation of a network description: walks the shape chain from the input, checks every declared
// shape against it, and lays the parameters out (per parametric layer: W then b).
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
}  // namespace

void finalize_desc(NetDesc& d) {
  if (d.inH < 1 || d.inW < 1 || d.inC < 1) throw RangeErr("inputShape must hold three positive integers");
  if (d.layers.empty()) throw RangeErr("layers must not be empty");
  d.inputSize = d.inH * d.inW * d.inC;
  int h = d.inH, w = d.inW, c = d.inC;
  size_t off = 0;
  int pidx = 0;
  for (size_t i = 0; i < d.layers.size(); ++i) {
    LayerDesc& L = d.layers[i];
    const std::string where = "layers[" + std::to_string(i) + "]";
    const bool last = i + 1 == d.layers.size();
    L.inH = h; L.inW = w; L.inC = c;
    L.inSize = h * w * c;
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
        L.wCount = static_cast<size_t>(c) * L.inSize;
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
        L.wCount = static_cast<size_t>(L.filters) * L.kernel * L.kernel * L.inC;
        L.bCount = L.filters;
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
    L.outSize = h * w * c;
    if (L.kind != LayerKind::Pool) {
      L.paramIndex = pidx++;
      L.wOff = off;
      off += L.wCount;
      L.bOff = off;
      off += L.bCount;
      if (static_cast<long long>(off) > kMaxParams) throw RangeErr("the network has too many parameters");
    }
  }
  if (d.layers.back().kind != LayerKind::Dense) throw RangeErr("the last layer must be dense");
  d.outputSize = d.layers.back().outSize;
  if (d.outputSize < 2 || d.outputSize > 256) throw RangeErr("the output layer must have 2 to 256 units");
  d.paramCount = off;
  d.parametricLayers = pidx;
}

}  // namespace nndl
