#!/bin/sh
# dist/shim: the file the `shim` command runs. scripts/bundle.mjs installs it, naming the node that built it.
#
# Every call goes to Node (shim.cjs beside this file: src/cli/launcher.ts), except two that an orchestrator
# makes for every container and that need no decision of their own: podman and containerd's runc shim call
# `start ID` and `delete [--force] ID` once per container, and a cold Node start costs 40-60 ms here (several
# hundred under load) where runc takes 5-10 ms for each. For those, when the container's state directory holds
# the fast-path record (src/state/fast-path-record.ts, written by Node with every state.json: it says what
# start and delete have to do, and exists only when that is nothing but the FIFO, the cgroups and the state
# directory), this script does just that:
#   start:  takes the container's lock, checks the init is the one recorded and alive, and releases it through
#           its start FIFO, as lifecycle.ts's startContainer does; then removes the FIFO.
#   delete: takes the lock, checks the init is gone, removes the cgroup directories, the empty parents and the
#           state directory, as lifecycle.ts's deleteContainer does for a stopped container.
#   (kill signals the recorded init; state prints the OCI state from the record's template, its status read
#   from the init, the FIFO and the freezer: podman asks for it whenever it syncs a container.)
# Anything else goes to Node unchanged, before anything was done or after only what Node would do first
# anyway (a cgroup already removed is not an error to it): an option this script does not know, an id that is
# not a plain name, no record, a lock someone holds, a live init at delete, an rmdir the kernel refuses (a
# process still in the cgroup, which Node kills first), a start FIFO that gives no "0". Node then does it and
# says what went wrong, in shim's words. Nothing is ever written to --log here: there is nothing to say on
# success. test/integration/fast-path.test.ts holds both ways to the same outcome.

node=@NODE@

# The container's lock, as src/state/container-lock.ts takes it: a file made with O_EXCL (noclobber) in the
# root, holding "PID STARTTIME" of its owner. This shell is the owner; it outlives everything it runs.
take_lock() {
	lock=$root/.$id.lock
	{ read -r stat </proc/$$/stat; } 2>/dev/null || return 1
	set -- ${stat##*) }
	set -C
	if { printf '%s %s' $$ "${20}" >"$lock"; } 2>/dev/null; then
		set +C
		return 0
	fi
	set +C
	lock=
	return 1
}

# The recorded init is alive: same pid, same start time (field 22 of /proc/PID/stat), and not a zombie.
init_alive() {
	# Grouped: a redirection's own failure (the init reaped, its /proc entry gone) is reported on the stderr in
	# force before the 2>/dev/null of the same command takes effect.
	{ read -r stat </proc/"$init_pid"/stat; } 2>/dev/null || return 1
	set -- ${stat##*) }
	[ "$1" != Z ] && [ "$1" != X ] && [ "${20}" = "$init_start" ]
}

# Reads the record's lines into init_pid, init_start, fifo, cgroups, parents and freeze, up to the state
# template (template=1 when there is one); fails on anything unexpected.
read_record() {
	version= init_pid= init_start= fifo= cgroups= parents= freeze= template=
	[ -f "$root/$id/fast-path" ] || return 1
	{
		while read -r key rest; do
			case $key in
			version) version=$rest ;;
			init) init_pid=${rest% *} init_start=${rest#* } ;;
			fifo) fifo=$rest ;;
			cgroups) cgroups=$rest ;;
			parents) parents=$rest ;;
			freeze) freeze=$rest ;;
			oci-state) template=1 && break ;;
			esac
		done <"$root/$id/fast-path"
	} 2>/dev/null || return 1
	[ "$version" = 1 ] && [ -n "$init_pid" ] && [ -n "$init_start" ] && [ -n "$fifo" ]
}

fast_start() {
	[ -p "$fifo" ] || return 1
	take_lock || return 1
	if [ -p "$fifo" ] && init_alive; then
		# Opening the FIFO read-write never blocks and lets the init's blocked open for writing return; the
		# read-only open beside it then does not block either. Once the read-write end is closed, the init is
		# the only writer: the read gets its "0" (and end of file as it closes its end), or end of file at
		# once should the init not have its end open (yet, or any more), and Node takes over.
		# A compound command, not `exec`: a redirection that fails there (the FIFO gone meanwhile) is a failed
		# command, where on `exec` it would end this shell.
		answer=
		{ exec 3<&-; read -r answer <&4; } 3<>"$fifo" 4<"$fifo" 2>/dev/null
		if [ "$answer" = 0 ]; then
			/bin/rm -f -- "$fifo" "$lock"
			exit 0
		fi
	fi
	/bin/rm -f -- "$lock"
	return 1
}

fast_delete() {
	take_lock || return 1
	if ! init_alive && [ -d "$root/$id" ]; then
		# Parents only when empty (other containers may be in them); their failures are no one's concern.
		# Unquoted on purpose: the record holds only plain paths (no spaces, no glob characters).
		if [ -z "$cgroups" ] || /bin/rmdir -- $cgroups 2>/dev/null; then
			[ -z "$parents" ] || /bin/rmdir -- $parents 2>/dev/null
			# A state directory rm cannot remove is Node's to retry and report, never a silent success.
			/bin/rm -rf -- "$root/$id" "$lock" 2>/dev/null && exit 0
		fi
	fi
	/bin/rm -f -- "$lock"
	return 1
}

fast_kill() {
	# The signals orchestrators send, as numbers (Linux's, the same on every architecture for these); any
	# other name, and --all, go to Node (src/container/signals.ts).
	# Not given: SIGTERM. Given empty (`kill ID ""`): Node's "unknown signal".
	[ -z "$signal" ] && [ "$words" = 2 ] && return 1
	case $signal in
	'' | TERM | SIGTERM) signal=15 ;;
	KILL | SIGKILL) signal=9 ;;
	INT | SIGINT) signal=2 ;;
	HUP | SIGHUP) signal=1 ;;
	QUIT | SIGQUIT) signal=3 ;;
	USR1 | SIGUSR1) signal=10 ;;
	USR2 | SIGUSR2) signal=12 ;;
	CONT | SIGCONT) signal=18 ;;
	STOP | SIGSTOP) signal=19 ;;
	WINCH | SIGWINCH) signal=28 ;;
	[1-9] | [1-5][0-9] | 6[0-4]) ;;
	*) return 1 ;;
	esac
	# No lock, as lifecycle.ts's killContainer takes none: the init is signalled if it is still the recorded
	# one. A created, running or paused container's init is alive; a stopped one's is not, and Node says so.
	init_alive || return 1
	kill -s "$signal" "$init_pid" 2>/dev/null || return 1
	exit 0
}

# True when the freezer holds the container: lifecycle.ts's isFrozen (cgroup-files.ts isFrozenText).
frozen() {
	[ -n "$freeze" ] || return 1
	case $freeze in
	*/freezer.state)
		{ read -r frozen_state <"$freeze"; } 2>/dev/null && [ "$frozen_state" = FROZEN ]
		;;
	*)
		{
			while read -r key rest; do
				[ "$key" = frozen ] && [ "$rest" = 1 ] && return 0
			done <"$freeze"
		} 2>/dev/null
		return 1
		;;
	esac
}

fast_state() {
	[ "$words" = 1 ] && [ -n "$template" ] || return 1
	# lifecycle.ts's observeState for a container with no docker state and no exit status file.
	status=stopped pid=0
	if init_alive; then
		pid=$init_pid
		if [ -e "$fifo" ]; then
			status=created
		elif frozen; then
			status=paused
		else
			status=running
		fi
	fi
	# The template: the lines after `oci-state`, with its two placeholder lines filled in (fast-path-record.ts
	# ociStateTemplate); printed as Node prints it, without a newline after the closing brace.
	out= seen=
	{
		while IFS= read -r line; do
			if [ -z "$seen" ]; then
				[ "$line" = oci-state ] && seen=1
				continue
			fi
			case $line in
			'  "pid": @PID@,') line="  \"pid\": $pid," ;;
			'  "status": "@STATUS@",') line="  \"status\": \"$status\"," ;;
			esac
			out="$out${out:+
}$line"
		done <"$root/$id/fast-path"
	} 2>/dev/null || return 1
	[ -n "$out" ] || return 1
	printf '%s' "$out"
	exit 0
}

# The command lines taken here: [--root DIR] [--data-root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]
# followed by `start ID`, `kill ID [SIGNAL]`, `delete [--force|-f] ID` or `state ID`, options as
# src/cli/fast-path.ts reads them.
fast_path() {
	root=/run/shim verb= id= force= signal= words=0
	while [ $# -gt 0 ]; do
		case $1 in
		--root | --data-root | --log | --log-format)
			[ $# -ge 2 ] || return 1
			case $2 in '' | -*) return 1 ;; esac
			[ "$1" = --root ] && root=$2
			[ "$1" = --log-format ] && case $2 in text | json) ;; *) return 1 ;; esac
			shift 2
			continue
			;;
		--root=* | --data-root=* | --log=* | --log-format=*)
			case ${1#*=} in '' | -*) return 1 ;; esac
			case $1 in --root=*) root=${1#*=} ;; --log-format=*) case ${1#*=} in text | json) ;; *) return 1 ;; esac ;; esac
			;;
		--systemd-cgroup) ;;
		--force | -f) [ "$verb" = delete ] && [ -z "$force" ] || return 1; force=1 ;;
		-*) return 1 ;;
		*)
			if [ -z "$verb" ]; then
				case $1 in start | kill | delete | state) verb=$1 ;; *) return 1 ;; esac
			else
				words=$((words + 1))
				case $words/$verb in
				1/*) id=$1 ;;
				2/kill) signal=$1 ;;
				*) return 1 ;;
				esac
			fi
			;;
		esac
		shift
	done
	case $id in '' | .* | *[!A-Za-z0-9_.+-]*) return 1 ;; esac
	[ -n "$root" ] || return 1
	read_record || return 1
	case $verb in
	start) fast_start ;;
	kill) fast_kill ;;
	delete) fast_delete ;;
	state) fast_state ;;
	esac
}

# SHIM_NO_FAST_PATH=1 sends everything to Node: to compare the two (bench/cli.sh), or to rule this out.
[ -n "${SHIM_NO_FAST_PATH:-}" ] ||
	case $1 in
	start | kill | delete | state | --root | --root=* | --data-root | --data-root=* | --log | --log=* | --log-format | --log-format=* | --systemd-cgroup) fast_path "$@" ;;
	esac

# Node, with the launcher beside this file (through a symlink: /usr/local/bin/shim, podman's `runc`).
self=$0
case $self in */*) ;; *) self=./$self ;; esac
[ -L "$self" ] && self=$(/bin/readlink -f -- "$self")

# `create` (podman's and conmon's, containerd's runc shim's, once per container) and `exec`: through the
# helper's launch mode, which starts Node and the helper side by side on pipes it made, so that Node need not
# fork its whole process to start the helper (helper-c/launch.c, src/helper/launched-helper.ts). Only when the
# verb is plain to see past runc's global options, and the helper is the one beside this file (SHIM_HELPER
# names another).
launch=
if [ -z "${SHIM_HELPER:-}" ] && [ -z "${SHIM_NO_LAUNCH:-}" ] && [ -x "${self%/*}/shim-helper" ]; then
	skip=
	for arg; do
		[ -n "$skip" ] && skip= && continue
		case $arg in
		--root | --data-root | --log | --log-format) skip=1 ;;
		--root=* | --data-root=* | --log=* | --log-format=* | --systemd-cgroup | --debug) ;;
		create | exec) launch=1 && break ;;
		*) break ;;
		esac
	done
fi
[ -n "$launch" ] && exec "${self%/*}/shim-helper" --launch "$node" -- "${self%/*}/shim.cjs" "$@"
exec "$node" -- "${self%/*}/shim.cjs" "$@"
