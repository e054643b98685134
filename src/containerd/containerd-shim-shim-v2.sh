#!/bin/sh
# containerd-shim-shim-v2: what containerd runs (the runtime v2 contract: src/containerd/shim-v2-main.ts).
# scripts/bundle.mjs installs this as dist/containerd-shim-shim-v2, beside the Node launcher it hands every
# call to (containerd-shim-shim-v2.cjs), naming the node that built it.
#
# One call is answered here, without Node: `delete` of a container that has nothing left. containerd runs
# `delete` after every container, on its path (`ctr run --rm` waits for it), and nearly always the server has
# deleted the container already; a Node start for that costs 40 ms on an idle machine and several hundred
# under load, a shell a millisecond or two. The answer is shim-v2-main.ts's for that case, byte for byte
# (encodeDeleteResponse(0, 137, now) in wire.ts), where the state root is stateRootOf()'s
# ($SHIM_CONTAINERD_ROOT, else /run/shim-containerd, then the namespace); test/unit/containerd-launcher.test.ts
# holds the two to the same answer. Anything else, and any id or namespace that is not a plain name, goes
# to Node.

node=@NODE@
launcher=$(readlink -f "$0").cjs

eval "action=\${$#}"
if [ "$action" = delete ]; then
	ns=${NAMESPACE:-} id= prev=
	for arg in "$@"; do
		case $prev in
		-namespace | --namespace) ns=$arg ;;
		-id | --id) id=$arg ;;
		esac
		case $arg in
		-namespace=* | --namespace=*) ns=${arg#*=} ;;
		-id=* | --id=*) id=${arg#*=} ;;
		esac
		prev=$arg
	done
	case "$ns/$id" in
	/* | */ | *//* | */*/* | .* | */.*) ;;
	*)
		if [ ! -e "${SHIM_CONTAINERD_ROOT:-/run/shim-containerd}/$ns/$id" ] && [ ! -L "${SHIM_CONTAINERD_ROOT:-/run/shim-containerd}/$ns/$id" ]; then
			# A protobuf varint as printf's octal escapes, four characters a byte.
			varint() {
				v=$1 out=
				while [ "$v" -ge 128 ]; do
					b=$((v % 128 + 128))
					out="$out\\$((b / 64))$((b / 8 % 8))$((b % 8))"
					v=$((v / 128))
				done
				printf '%s' "$out\\$((v / 64))$((v / 8 % 8))$((v % 8))"
			}
			now=$(date +%s.%N)
			seconds=${now%.*}
			# Milliseconds, as wire.ts encodes them.
			nanos=$(((1${now#*.} - 1000000000) / 1000000 * 1000000))
			timestamp="\\010$(varint "$seconds")"
			[ "$nanos" -ne 0 ] && timestamp="$timestamp\\020$(varint "$nanos")"
			# DeleteResponse {pid 0 (omitted), exit_status 137, exited_at}.
			printf "\\020\\211\\001\\032$(varint $((${#timestamp} / 4)))$timestamp"
			exit 0
		fi
		;;
	esac
fi
exec "$node" "$launcher" "$@"
