#!/usr/bin/env bash
# make test-build-container: builds Dockerfile.build with podman, shim being the OCI runtime of every RUN step,
# exports the helper it built to build/container/shim-helper, and compares it with `make helper`'s
# dist/shim-helper byte for byte.
#
# The base image (`FROM debian:12`) is the Debian 12 tar scripts/base-image.sh made here with debootstrap (no
# registry is reachable), imported into a podman storage private to this run and tagged docker.io/library/
# debian:12, the name podman resolves `debian:12` to; --pull=never keeps the build off any registry. RUN steps
# reach Debian's mirror for apt through --network host.
#
# Cost on a 2-core machine: the base image once per machine and month (see base-image.sh); then importing it
# (~10 s), the build itself (apt-get update + install of the toolchain, then `make helper`: 1-3 minutes), and
# exporting the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SHIM=$REPO/dist/shim
[ "$(id -u)" = 0 ] || { echo "build-container: podman needs root here" >&2; exit 2; }
[ -x "$SHIM" ] && [ -x "$REPO/dist/shim-helper" ] || { echo "build-container: build first (make build)" >&2; exit 2; }

base_tar=$(scripts/base-image.sh)
T=$(mktemp -d /tmp/shim-build-container.XXXXXX)
PARENT=shim-build-container-$$
P=(podman --root "$T/storage" --runroot "$T/runroot" --storage-driver overlay --cgroup-manager cgroupfs
	--events-backend file --tmpdir "$T/tmp" --runtime "$SHIM")
cleanup() {
	set +e
	"${P[@]}" rm -fa -t 0 >/dev/null 2>&1
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -depth -type d -path "*/$PARENT*" -exec rmdir {} + 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/tmp" build/container
export CONTAINERS_CONF=$T/containers.conf
: >"$CONTAINERS_CONF"

echo "build-container: importing $base_tar as debian:12" >&2
"${P[@]}" import -q --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["bash"]' "$base_tar" docker.io/library/debian:12 >/dev/null

# Until shim takes a seccomp profile (`shim features`), the RUN steps run without the one podman sends.
security=()
[ "$("$SHIM" features | jq -r '.linux.seccomp.enabled')" = true ] || security=(--security-opt seccomp=unconfined)
echo "build-container: podman build --runtime $SHIM --network host -f Dockerfile.build" >&2
start=$(date +%s)
# Root here lacks CAP_SYS_RESOURCE: podman's default nofile/nproc limits would be refused.
"${P[@]}" --log-level debug build --runtime "$SHIM" --network host --pull=never --cgroup-parent "/$PARENT" \
	--ulimit nofile=20000:20000 --ulimit nproc=1024:1024 "${security[@]}" \
	-f Dockerfile.build -t localhost/shim-helper-export . 2>"$T/build.log" ||
	{ grep -v 'level=debug' "$T/build.log" | tail -n 40 >&2; echo "build-container: podman build failed" >&2; exit 1; }
echo "build-container: built in $(( $(date +%s) - start )) s" >&2
# Every RUN step went through shim: buildah logs each runtime call it makes (`Running ["RUNTIME" "create" ...]`).
needle="Running [\\\"$SHIM\\\" \\\"create\\\""
runs=$(grep -cF "$needle" "$T/build.log" || true)
steps=$(grep -cE '^RUN ' Dockerfile.build)
echo "build-container: $runs runtime run(s) by $SHIM for $steps RUN step(s)" >&2
[ "$runs" -ge "$steps" ] || { echo "build-container: the RUN steps did not all go through shim" >&2; exit 1; }

id=$("${P[@]}" create localhost/shim-helper-export /shim-helper)
"${P[@]}" cp "$id:/shim-helper" build/container/shim-helper
"${P[@]}" rm "$id" >/dev/null
if cmp -s build/container/shim-helper dist/shim-helper; then
	echo "build-container: build/container/shim-helper is byte-identical to dist/shim-helper ($(stat -c %s dist/shim-helper) bytes)"
else
	echo "build-container: build/container/shim-helper differs from dist/shim-helper:" >&2
	ls -l build/container/shim-helper dist/shim-helper >&2
	echo "  (see README: the toolchain inside the container is Debian 12's current one, the host's may differ)" >&2
	exit 1
fi
