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
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Werror", "-Wswitch", "-march=<(nndl_march)", "-fno-math-errno", "-fexceptions", "-pthread"],
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
