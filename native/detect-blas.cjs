// Prints "1" when OpenBLAS's CBLAS header and library can be found (Debian: libopenblas-dev), else "0".
// binding.gyp asks this at configure time; NNDL_BLAS=0 forces the portable GEMM.
const fs = require('node:fs');
if (process.env.NNDL_BLAS === '0') { process.stdout.write('0'); process.exit(0); }
const headers = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'];
const libs = ['/usr/lib/x86_64-linux-gnu/libopenblas.so', '/usr/lib/aarch64-linux-gnu/libopenblas.so', '/usr/lib/libopenblas.so', '/usr/lib64/libopenblas.so'];
const found = headers.some((h) => fs.existsSync(h)) && libs.some((l) => fs.existsSync(l));
process.stdout.write(found ? '1' : '0');
