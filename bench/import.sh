#!/usr/bin/env bash
# Large import: builds an OCI archive of about 240 MB in four layers (random data, so gzip cannot shrink it;
# one layer gzip-compressed, many small files in another) and times `shim image import` on it, reporting
# peak RSS (GNU time) and throughput. Separate from bench/run.sh on purpose: it measures the image store,
# not container start-up. Usage: bench/import.sh [MB_PER_LAYER] (default 60). Needs root (layers keep owners).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
shim="$here/dist/shim"
mb=${1:-60}
work=$(mktemp -d /tmp/shim-bench-import.XXXXXX)
trap 'rm -rf "$work"' EXIT

layout="$work/layout"
mkdir -p "$layout/blobs/sha256"
diff_ids=()
layers_json=()
for n in 1 2 3 4; do
  dir="$work/layer$n"
  mkdir -p "$dir/data$n"
  if [ "$n" = 3 ]; then
    # Many small files: the per-entry cost, not only the bytes.
    for i in $(seq 1 4000); do head -c 4096 /dev/urandom > "$dir/data$n/f$i"; done
    head -c $(( (mb - 16) * 1024 * 1024 )) /dev/urandom > "$dir/data$n/big"
  else
    head -c $(( mb * 1024 * 1024 )) /dev/urandom > "$dir/data$n/big"
  fi
  tar --numeric-owner -C "$dir" -cf "$work/layer$n.tar" .
  rm -rf "$dir"
  diff_id=$(sha256sum "$work/layer$n.tar" | cut -d' ' -f1)
  media=application/vnd.oci.image.layer.v1.tar
  blob="$work/layer$n.tar"
  if [ "$n" = 2 ]; then
    gzip -1 "$work/layer$n.tar"
    blob="$work/layer$n.tar.gz"
    media=application/vnd.oci.image.layer.v1.tar+gzip
  fi
  digest=$(sha256sum "$blob" | cut -d' ' -f1)
  size=$(stat -c %s "$blob")
  mv "$blob" "$layout/blobs/sha256/$digest"
  diff_ids+=("\"sha256:$diff_id\"")
  layers_json+=("{\"mediaType\":\"$media\",\"digest\":\"sha256:$digest\",\"size\":$size}")
done
# The base layer: busybox, so the image also runs.
base="$work/base"
mkdir -p "$base/bin" && cp /bin/busybox "$base/bin/busybox" && ln -s busybox "$base/bin/sh"
tar --numeric-owner -C "$base" -cf "$work/base.tar" .
base_digest=$(sha256sum "$work/base.tar" | cut -d' ' -f1)
base_size=$(stat -c %s "$work/base.tar")
mv "$work/base.tar" "$layout/blobs/sha256/$base_digest"

join() { local IFS=,; echo "$*"; }
config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\",\"-c\",\"du -sm /data1 /data2 /data3 /data4\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$base_digest\",$(join "${diff_ids[@]}")]}}"
printf '%s' "$config" > "$work/config"
config_digest=$(sha256sum "$work/config" | cut -d' ' -f1)
mv "$work/config" "$layout/blobs/sha256/$config_digest"
manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_digest\",\"size\":${#config}},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$base_digest\",\"size\":$base_size},$(join "${layers_json[@]}")]}"
printf '%s' "$manifest" > "$work/manifest"
manifest_digest=$(sha256sum "$work/manifest" | cut -d' ' -f1)
mv "$work/manifest" "$layout/blobs/sha256/$manifest_digest"
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest_digest\",\"size\":${#manifest}}]}" > "$layout/index.json"
tar -C "$layout" -cf "$work/image.tar" .
rm -rf "$layout"
archive_bytes=$(stat -c %s "$work/image.tar")

sync
/usr/bin/time -f '%M %e' -o "$work/time" "$shim" --root "$work/run" --data-root "$work/data" image import "$work/image.tar" big:1 >/dev/null
read -r rss_kb seconds < "$work/time"
unpacked=$(du -sm "$work/data/images/layers" | cut -f1)
echo "archive: $((archive_bytes / 1024 / 1024)) MB, 5 layers (one gzip), unpacked layers: ${unpacked} MB"
echo "import: ${seconds} s, $(awk -v b="$archive_bytes" -v s="$seconds" 'BEGIN { printf "%.0f", b / 1048576 / s }') MB/s, peak RSS $((rss_kb / 1024)) MB"
"$shim" --root "$work/run" --data-root "$work/data" run --rm big:1
