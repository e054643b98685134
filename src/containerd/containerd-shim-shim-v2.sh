#!/bin/sh
# containerd-shim-shim-v2: what containerd runs (the runtime v2 contract: src/containerd/shim-v2-main.ts).
# scripts/bundle.mjs installs this as dist/containerd-shim-shim-v2, beside the Node launcher it hands every
# call to (containerd-shim-shim-v2.cjs), naming the node that built it.
#
# Two calls are answered here, without Node (a Node start costs 40 ms on an idle machine and several hundred
# under load, a shell a few milliseconds), each only in its common, plain case:
#
# - `delete` of a container that has nothing left. containerd runs `delete` after every container, on its
#   path (`ctr run --rm` waits for it), and nearly always the server has deleted the container already. The
#   answer is shim-v2-main.ts's for that case, byte for byte (encodeDeleteResponse(0, 137, now) in wire.ts),
#   where the state root is stateRootOf()'s ($SHIM_CONTAINERD_ROOT, else /run/shim-containerd, then the
#   namespace).
# - `start` of a container whose group's server is running. containerd runs `start` once per container; Node's
#   answer (startServer) is the server's address, also written to the bundle's `address` file. Here: the
#   group is the namespace's (groupOf: a config.json without the CRI's sandbox annotation), the socket is
#   socketPathOf()'s (sha256 of "ADDRESS\0NS\0namespace:NS", beside containerd's socket in s/), and the
#   server is alive when its record (SOCKET.server: "PID STARTTIME", shim-paths.ts serverRecordOf) names a
#   live process of that start time. Before looking at the record this writes SOCKET.joining/ID, which the
#   server counts as a container joined before it decides to leave (server.ts leaveIfIdle withdraws the
#   record, then reads these): so an answer here is never a server on its way out.
#
# test/unit/containerd-launcher.test.ts holds the shell's answers to Node's. Anything else (another action,
# any id, namespace or address that is not a plain name, a sandbox, no live server, a race lost) goes to Node.
# SHIM_CONTAINERD_TRACE=FILE appends one line per call: "SECONDS PID ACTION ID shell|node".

node=@NODE@

trace() {
	[ -n "${SHIM_CONTAINERD_TRACE:-}" ] && printf '%s %s %s %s %s\n' "$(date +%s.%N)" $$ "$action" "$id" "$1" >>"$SHIM_CONTAINERD_TRACE"
	return 0
}

# Sets alive=1 when the server record $1 ("PID STARTTIME") names a live process (not a zombie) that started
# then: /proc/PID/stat's field 22, the 20th after the command's parenthesised name.
server_alive() {
	read -r pid started <"$1" || return
	case $pid in '' | *[!0-9]*) return ;; esac
	read -r stat <"/proc/$pid/stat" || return
	set -f
	# shellcheck disable=SC2086 # the fields after the command's name, split on blanks
	set -- ${stat##*) }
	set +f
	case $1 in Z | X | x) return ;; esac
	[ $# -ge 20 ] && shift 19 && [ "$1" = "$started" ] && alive=1
}

eval "action=\${$#}"
ns=${NAMESPACE:-} id= address= prev=
for arg in "$@"; do
	case $prev in
	-namespace | --namespace) ns=$arg ;;
	-id | --id) id=$arg ;;
	-address | --address) address=$arg ;;
	esac
	case $arg in
	-namespace=* | --namespace=*) ns=${arg#*=} ;;
	-id=* | --id=*) id=${arg#*=} ;;
	-address=* | --address=*) address=${arg#*=} ;;
	esac
	prev=$arg
done
case "$ns/$id" in
/* | */ | *//* | */*/* | .* | */.*) plain= ;;
*) plain=1 ;;
esac

if [ "$action" = delete ] && [ -n "$plain" ]; then
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
		trace shell
		exit 0
	fi
fi

if [ "$action" = start ] && [ -n "$plain" ]; then
	path=${address#unix://}
	# A plain absolute path, so that ${path%/*} is path.dirname's answer and its length its byte count; and a
	# config.json that names no sandbox (nor escapes anything that could spell one).
	case $path in
	/*[!A-Za-z0-9/._-]* | *//* | */. | */.* | */ | [!/]* | '') ;;
	*)
		if grep -q -e io.kubernetes.cri.sandbox-id -e '\\u' config.json 2>/dev/null; then
			:
		elif [ $? = 1 ]; then
			digest=$(printf '%s\000%s\000namespace:%s' "$address" "$ns" "$ns" | sha256sum)
			digest=${digest%"${digest#????????????????????????????????}"}
			socket=${path%/*}/s/$digest
			marker=$socket.joining/$id
			if [ ${#socket} -le 107 ] && [ -S "$socket" ] && { printf '%s\n' $$ >"$marker"; } 2>/dev/null; then
				alive=
				server_alive "$socket.server" 2>/dev/null
				if [ -n "$alive" ] && (umask 077 && printf 'unix://%s' "$socket" >address) 2>/dev/null; then
					printf 'unix://%s' "$socket"
					trace shell
					exit 0
				fi
				rm -f "$marker"
			fi
		fi
		;;
	esac
fi
trace node
exec "$node" "$(readlink -f "$0").cjs" "$@"
