{
  "targets": [
    {
      "target_name": "xdplane_shim",
      "sources": ["native/shim.cc"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "libraries": ["-ldl"]
    }
  ]
}
