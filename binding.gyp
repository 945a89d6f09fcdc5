{
  "variables": {
    "nndl_blas%": "<!(node native/detect-blas.cjs)",
    "nndl_march%": "<!(node -p \"process.env.NNDL_MARCH || 'native'\")"
  },
  "targets": [
    {
      "target_name": "nndl",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/src').filter(f => f.endsWith('.cc')).map(f => 'native/src/' + f).join(' ')\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_ADDON_API_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # -Wno-psabi: the kernels' 64-byte vector types (GCC vector extensions) pass only between
      # inline functions of one file, so the ABI note GCC prints for them when the target has no
      # AVX-512 is no error (with -Werror it failed the build on AVX2 machines and in the images).
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Werror", "-Wno-psabi", "-Wswitch", "-march=<(nndl_march)", "-fno-math-errno", "-fexceptions", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["nndl_blas==1", {
          "defines": ["NNDL_HAVE_OPENBLAS=1"],
          "libraries": ["-lopenblas"]
        }]
      ]
    }
  ]
}
