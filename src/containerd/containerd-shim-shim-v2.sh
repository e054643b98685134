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
#   answer (startServer) is the server's address, also written to the bundle's `address` file. Here only for
#   the namespace's group (groupOf: a config.json without the CRI's sandbox annotation), whose server
#   publishes itself in a record beside containerd's socket (DIR/s/shim+NS+NAME.server: "PID STARTTIME NS
#   ADDRESS SOCKET", shim-paths.ts serverRecordOf): the shell takes the socket from it, computing nothing of
#   Node's. Before it trusts the record it writes SOCKET.joining/ID, which the server counts as a container
#   joined before it decides to leave (server.ts leaveIfIdle withdraws the record, then reads these), then
#   finds the record unchanged and its process alive since that start time (/proc): so an answer here is
#   never a dead server nor one on its way out.
#
# test/unit/containerd-launcher.test.ts holds the shell's answers to Node's. Anything else (another action,
# any id, namespace or address that is not a plain name, a sandbox, no live server, a race lost, or
# SHIM_NO_FAST_PATH set) goes to Node.
# SHIM_CONTAINERD_TRACE=FILE appends one line per call: "END PID ACTION ID shell|node BEGIN" (epoch seconds).

node=@NODE@

[ -n "${SHIM_CONTAINERD_TRACE:-}" ] && began=$(date +%s.%N)
trace() {
	[ -n "${SHIM_CONTAINERD_TRACE:-}" ] && printf '%s %s %s %s %s %s\n' "$(date +%s.%N)" $$ "$action" "$id" "$1" "$began" >>"$SHIM_CONTAINERD_TRACE"
	return 0
}

# Reads a server record ("PID STARTTIME NAMESPACE ADDRESS SOCKET", shim-paths.ts serverRecordOf): true when
# it names this namespace of this containerd, setting pid, started and socket.
server_of() {
	read -r pid started rns raddr socket <"$1" || return
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	case $socket in /*) ;; *) return 1 ;; esac
	[ "$rns" = "$ns" ] && [ "$raddr" = "$address" ]
}

# True when process $pid lives (not a zombie) and started at $started: /proc/PID/stat's field 22, the 20th after
# the command's parenthesised name.
alive() {
	read -r stat <"/proc/$pid/stat" || return
	set -f
	# shellcheck disable=SC2086 # the fields after the command's name, split on blanks
	set -- ${stat##*) }
	set +f
	case $1 in Z | X | x) return 1 ;; esac
	[ $# -ge 20 ] && shift 19 && [ "$1" = "$started" ]
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
# SHIM_NO_FAST_PATH=1 sends everything to Node, as dist/shim's launcher does: to compare, or to rule this out.
[ -n "${SHIM_NO_FAST_PATH:-}" ] && plain=

if [ "$action" = delete ] && [ -n "$plain" ]; then
	if [ ! -e "${SHIM_CONTAINERD_ROOT:-/run/shim-containerd}/$ns/$id" ] && [ ! -L "${SHIM_CONTAINERD_ROOT:-/run/shim-containerd}/$ns/$id" ]; then
		# Appends a protobuf varint to $enc as printf's octal escapes, four characters a byte (no subshell).
		varint() {
			v=$1
			while [ "$v" -ge 128 ]; do
				b=$((v % 128 + 128))
				enc="$enc\\$((b / 64))$((b / 8 % 8))$((b % 8))"
				v=$((v / 128))
			done
			enc="$enc\\$((v / 64))$((v / 8 % 8))$((v % 8))"
		}
		now=$(date +%s.%N)
		seconds=${now%.*}
		# Milliseconds, as wire.ts encodes them.
		nanos=$(((1${now#*.} - 1000000000) / 1000000 * 1000000))
		enc='\010'
		varint "$seconds"
		[ "$nanos" -ne 0 ] && enc="$enc\\020" && varint "$nanos"
		timestamp=$enc
		enc=
		varint $((${#timestamp} / 4))
		# DeleteResponse {pid 0 (omitted), exit_status 137, exited_at}.
		printf "\\020\\211\\001\\032$enc$timestamp"
		trace shell
		exit 0
	fi
fi

if [ "$action" = start ] && [ -n "$plain" ]; then
	path=${address#unix://}
	# containerd's socket as a plain absolute path, a plain namespace: the record's name (serverRecordOf).
	case $path in /*[!A-Za-z0-9/._-]* | *//* | */.* | */ | [!/]* | '') path= ;; esac
	case $ns in *[!A-Za-z0-9._-]*) path= ;; esac
	case $path in
	'') ;;
	*)
		record=${path%/*}/s/shim+$ns+${path##*/}.server
		# The namespace's server, if its record is there and says this containerd; and a config.json that names
		# no sandbox (nor escapes anything that could spell one): groupOf's namespace group.
		if [ -f "$record" ] && server_of "$record" 2>/dev/null && [ -S "$socket" ]; then
			if grep -q -e io.kubernetes.cri.sandbox-id -e '\\u' config.json 2>/dev/null; then
				:
			elif [ $? = 1 ] && { printf '%s\n' $$ >"$socket.joining/$id"; } 2>/dev/null; then
				# Joined; now the record must still be there, the same, its process alive since the same start.
				first="$pid $started $socket"
				if server_of "$record" 2>/dev/null && [ "$pid $started $socket" = "$first" ] && alive 2>/dev/null &&
					(umask 077 && printf 'unix://%s' "$socket" >address) 2>/dev/null; then
					printf 'unix://%s' "$socket"
					trace shell
					exit 0
				fi
				rm -f "$socket.joining/$id"
			fi
		fi
		;;
	esac
fi
trace node
exec "$node" "$(readlink -f "$0").cjs" "$@"
