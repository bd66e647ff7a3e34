{
  "targets": [
    {
      "target_name": "runsc_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/fd.cc",
        "src/fd_watcher.cc",
        "src/socket.cc",
        "src/fs.cc",
        "src/fs_attr.cc",
        "src/confine.cc",
        "src/fs_socket.cc",
        "src/ptrace.cc",
        "src/tracer_wait.cc",
        "src/tty.cc",
        "src/tun.cc",
        "src/launch.cc",
        "src/pivot.cc",
        "src/seccomp.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"]
    }
  ]
}
