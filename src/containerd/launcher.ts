// dist/containerd-shim-shim-v2: the file containerd runs (by absolute path, or found on PATH as
// io.containerd.shim.v2 -> containerd-shim-shim-v2). The server and its containerd API live in
// lib/containerd-shim.cjs, which the `shim` CLI never loads.

require('./lib/containerd-shim.cjs');
