#!/bin/bash
# Run the OCI runtime-tools validation suite (pinned below) against a runtime
# and print one line per test program plus a total. See README.md.
set -euo pipefail

# The whole script is one compound command, so bash parses it completely
# before running it: editing or checking out this file during a run (which
# takes minutes) cannot make the running shell read a shifted script.
{

# The pinned suite. v0.9.0 (2019) has no go.mod; this master snapshot has one
# and targets runtime-spec v1.3.0, like oci-rt.
SUITE_MODULE=github.com/opencontainers/runtime-tools
SUITE_VERSION=v0.9.1-0.20260316125833-8a4db579f5c8
SUITE_PROGRAMS=58 # validation/*/*.t in that version

usage() {
	cat <<'EOF'
usage: tests/conformance/run.sh [options]

Builds the pinned runtime-tools validation suite (cached), runs each
validation/*/*.t program against a runtime and prints
  NAME  ok=N  not_ok=N  skip=N  PASS|FAIL|TIMEOUT
per program and "conformance: P/58 programs pass".

options:
  --runtime PATH   runtime to test (default: $RUNTIME, else ./oci-rt of the repo)
  --only NAME...   run only these programs (names as in validation/NAME/);
                   takes every following argument up to the next option
  --expect FILE    list of programs (one a line, # comments) that must pass;
                   exit 1 naming each one that did not
  --timeout SECS   per-program timeout (default 60); a program that outlives
                   it has its process tree and the tasks blocked in the
                   kernel written into its log, then its whole tree killed
  --dump-on-timeout
                   on a timeout also have the kernel log the blocked tasks'
                   stacks (sysrq w, t) and copy the first into the log; for
                   throw-away VMs, not for shared hosts
  --workdir DIR    writable directory for logs, bundles and runtime state
                   (default tests/conformance/.cache/work); use it when the
                   repo is read-only, e.g. in the VM test bed
  --cache DIR      where the suite is built (default tests/conformance/.cache)
  --build-only     fetch and build the suite, then exit
  -h, --help       this text

Exit status: 0 when the run completed (and, with --expect, nothing regressed);
1 on a regression; 2 on a usage error; 3 if the suite could not be built or
the run could not be set up.
EOF
}

die() {
	echo "conformance: $*" >&2
	exit 3
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

runtime=${RUNTIME:-$repo/oci-rt}
only=()
expect=
timeout_s=60
workdir=
cache=$here/.cache
build_only=
dump_on_timeout=
while [ $# -gt 0 ]; do
	case $1 in
	--runtime) runtime=${2:?--runtime needs a path}; shift 2 ;;
	--only)
		shift
		while [ $# -gt 0 ] && [[ $1 != -* ]]; do only+=("$1"); shift; done
		[ ${#only[@]} -gt 0 ] || { echo "conformance: --only needs program names" >&2; exit 2; }
		;;
	--expect) expect=${2:?--expect needs a file}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	--workdir) workdir=${2:?--workdir needs a directory}; shift 2 ;;
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	--build-only) build_only=1; shift ;;
	--dump-on-timeout) dump_on_timeout=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "conformance: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || { echo "conformance: --timeout wants a positive number, got $timeout_s" >&2; exit 2; }
if [ -n "$expect" ]; then
	[ -r "$expect" ] || { echo "conformance: cannot read the expect file $expect" >&2; exit 2; }
	expect=$(cd "$(dirname "$expect")" && pwd)/$(basename "$expect")
fi
mkdir -p "$cache" 2>/dev/null || true
cache=$(cd "$cache" 2>/dev/null && pwd) || die "cache directory $cache does not exist and cannot be created"

# Some tests use fixed cgroup paths (/cgrouptest), two builds of the suite
# must not share its directory, and the programs are slow enough on a shared
# machine: runs on one machine take turns. (flock works on a read-only fd, so
# a lock file made by another user is fine.)
command -v flock >/dev/null || die "flock is needed and is not in PATH"
lockdir=/run/lock
[ -d "$lockdir" ] && [ -w "$lockdir" ] || lockdir=/tmp
lockfile=$lockdir/oci-rt-conformance.lock
[ -e "$lockfile" ] || : >>"$lockfile" || die "cannot create the lock file $lockfile"
exec 9<"$lockfile"
if ! flock -n 9; then
	echo "conformance: another conformance run holds $lockfile; waiting for it" >&2
	flock 9
fi

# ---------------------------------------------------------------------------
# Fetch and build the suite, once per version.

suite=$cache/runtime-tools-$SUITE_VERSION
built_marker=$suite/.oci-rt-conformance-built

suite_is_built() {
	[ -f "$built_marker" ] && [ -x "$suite/runtimetest" ] && [ -f "$suite/rootfs-amd64.tar.gz" ] &&
		[ "$(find "$suite/validation" -mindepth 2 -maxdepth 2 -name '*.t' -type f -perm -u+x | wc -l)" -eq "$SUITE_PROGRAMS" ]
}

build_suite() {
	command -v go >/dev/null || die "go is needed to build the suite and is not in PATH"
	command -v make >/dev/null || die "make is needed to build the suite and is not in PATH"
	[ -w "$cache" ] || die "the suite is not built in $cache and that directory is read-only; build it first where it is writable: $0 --build-only"

	echo "conformance: fetching $SUITE_MODULE@$SUITE_VERSION" >&2
	# Run from / so that the go command does not see (or touch) oci-rt's own go.mod.
	local info moddir
	info=$(cd / && GOFLAGS='' GOWORK=off go mod download -json "$SUITE_MODULE@$SUITE_VERSION") ||
		die "go mod download $SUITE_MODULE@$SUITE_VERSION failed (is the module proxy reachable?)"
	moddir=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	if [ -z "$moddir" ] || [ ! -d "$moddir" ]; then die "go mod download gave no module directory: $info"; fi
	# The module ships the root filesystem the tests unpack into every bundle.
	[ -f "$moddir/rootfs-amd64.tar.gz" ] || die "$moddir has no rootfs-amd64.tar.gz, which the tests need"

	# The module cache is read-only and make writes next to the sources, so
	# build in a writable copy; rename it into place only once it is complete.
	local tmp=$suite.tmp
	rm -rf "$tmp"
	cp -r "$moddir" "$tmp"
	chmod -R u+w "$tmp"
	echo "conformance: building the suite in $suite (about 70 s the first time)" >&2
	# -mod=mod: resolve from go.mod through the proxy rather than the shipped
	# vendor/ directory. -buildvcs=false and COMMIT: the copy sits inside
	# oci-rt's git checkout, whose history says nothing about the suite.
	if ! (cd "$tmp" && GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off \
		make COMMIT="$SUITE_VERSION" runtimetest validation-executables >"$cache/build.log" 2>&1); then
		tail -n 20 "$cache/build.log" >&2
		die "building the suite failed; the whole log is $cache/build.log"
	fi
	local n
	n=$(find "$tmp/validation" -mindepth 2 -maxdepth 2 -name '*.t' -type f | wc -l)
	[ "$n" -eq "$SUITE_PROGRAMS" ] || die "the build produced $n test programs, expected $SUITE_PROGRAMS; see $cache/build.log"
	rm -rf "$suite"
	mv "$tmp" "$suite"
	echo "$SUITE_MODULE@$SUITE_VERSION" >"$built_marker"
}

suite_is_built || build_suite
if [ -n "$build_only" ]; then
	echo "conformance: suite built in $suite"
	exit 0
fi

# ---------------------------------------------------------------------------
# Set up the run.

[ "$(id -u)" -eq 0 ] || die "must run as root (the tests create containers, mounts and cgroups)"
for tool in timeout umount; do
	command -v "$tool" >/dev/null || die "$tool is needed and is not in PATH"
done

# The runtime: the tests look it up with exec.LookPath, so make it absolute.
case $runtime in
*/*) [ -x "$runtime" ] || die "runtime $runtime does not exist or is not executable (for oci-rt: run make first)"
	runtime=$(cd "$(dirname "$runtime")" && pwd)/$(basename "$runtime") ;;
*) runtime=$(command -v "$runtime") || die "runtime $runtime is not in PATH" ;;
esac

all_programs=()
for t in "$suite"/validation/*/*.t; do
	t=${t##*/}
	all_programs+=("${t%.t}")
done
if [ ${#only[@]} -gt 0 ]; then
	for name in "${only[@]}"; do
		[ -x "$suite/validation/$name/$name.t" ] || die "no such test program: $name (see $suite/validation/)"
	done
	programs=("${only[@]}")
else
	programs=("${all_programs[@]}")
fi

# The programs that must pass (those of them that run, with --only).
expected=()
if [ -n "$expect" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		line=${line//[[:space:]]/}
		[ -n "$line" ] || continue
		[ -x "$suite/validation/$line/$line.t" ] || die "$expect names $line, which is not a program of the suite"
		for name in "${programs[@]}"; do
			[ "$name" = "$line" ] && expected+=("$line")
		done
	done <"$expect"
fi

# The programs with a user namespace (linux_uid_mappings, linux_ns_nopath)
# map the container's root to an unprivileged host uid, which must walk down
# to the bundles and read and run what the programs put there. Under a
# umask like 077, or in a --workdir made by mktemp -d, it could not, and
# both failed with "permission denied".
umask 022
[ -n "$workdir" ] || workdir=$cache/work
mkdir -p "$workdir" || die "cannot create the work directory $workdir"
workdir=$(cd "$workdir" && pwd)
[ -w "$workdir" ] || die "the work directory $workdir is not writable (give one with --workdir)"
chmod a+x "$workdir"
dir=$(dirname "$workdir")
while [ "$dir" != / ]; do
	[ "$(($(stat -c '0%a' "$dir") & 1))" -eq 1 ] ||
		echo "conformance: $dir is not searchable by others; the user-namespace programs will fail" >&2
	dir=$(dirname "$dir")
done

logs=$workdir/logs
scratch=$workdir/scratch # bundles (as TMPDIR) and runtime state, per program
suitecwd=$workdir/suite
rm -rf "$logs"
mkdir -p "$logs" "$scratch" "$suitecwd"
# The programs read ./runtimetest and ./rootfs-amd64.tar.gz from their current
# directory. Copy those two small files into the work directory; the programs
# themselves (240 MB) are run in place.
cp "$suite/runtimetest" "$suite/rootfs-amd64.tar.gz" "$suitecwd/"

# The wrapper the tests run as $RUNTIME. The tests never pass --root, and the
# host's default state dir (/run/runc, /run/crun, ...) must stay untouched, so
# it adds a private one. After a successful create it records the container's
# init pid and start time, so that cleanup can kill a leaked container even if
# the runtime lost track of it (and not a process that later reused the pid).
# It also notes every create's exit status and arguments, which go into the
# program's log: they tell whether the runtime did its part when the program
# failed afterwards (vm.sh reads them).
wrapper=$workdir/runtime-wrapper
state_root=$scratch/state
pid_log=$scratch/container-pids
create_log=$scratch/creates
cat >"$wrapper" <<EOF
#!/bin/bash
# Generated by tests/conformance/run.sh; do not edit.
set -euo pipefail
real=$(printf '%q' "$runtime")
root=$(printf '%q' "$state_root")
pid_log=$(printf '%q' "$pid_log")
create_log=$(printf '%q' "$create_log")
is_create=
for a in "\$@"; do
	case \$a in -*) ;; create) is_create=1; break ;; *) break ;; esac
done
if [ -z "\$is_create" ]; then
	exec "\$real" --root "\$root" "\$@"
fi
rc=0
"\$real" --root "\$root" "\$@" || rc=\$?
echo "exit \$rc: \$*" >>"\$create_log"
if [ "\$rc" -eq 0 ]; then
	id=\${*: -1}
	pid=\$(timeout -k 5 10 "\$real" --root "\$root" state "\$id" 2>/dev/null |
		sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1) || true
	if [ -n "\$pid" ] && [ -r "/proc/\$pid/stat" ]; then
		stat=\$(cat "/proc/\$pid/stat" 2>/dev/null) || true
		set -- \${stat##*) }
		[ \$# -ge 20 ] && echo "\$pid \${20}" >>"\$pid_log"
	fi
fi
exit "\$rc"
EOF
chmod 755 "$wrapper"

# ---------------------------------------------------------------------------
# Cleanup after each program. Everything the programs leave behind is either
# in their private TMPDIR and state root, or in the test cgroups (cgrouptest).

note() { echo "cleanup: $*" >>"$cur_log"; }

# The start time (field 22 of /proc/PID/stat) of a live process, to tell a
# pid we recorded from a later process that reused the number. Nothing for a
# zombie: the container inits are reparented to pid 1, which reaps them
# when it gets to it, and there is nothing left to kill.
live_start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# shellcheck disable=SC2086 # split the fields after "(comm)"
	set -- ${stat##*) }
	case $1 in Z | X) return 0 ;; esac
	echo "${20}"
}

cleanup_containers() {
	local d id
	for d in "$state_root"/*/; do
		[ -d "$d" ] || continue
		id=$(basename "$d")
		note "deleting leftover container $id"
		timeout -k 5 20 "$wrapper" delete -f "$id" >>"$cur_log" 2>&1 || note "delete -f $id failed"
	done
	# Containers recorded at create that are still alive (same pid and start time).
	if [ -f "$pid_log" ]; then
		local pid st
		while read -r pid st; do
			[ "$(live_start_time "$pid")" = "$st" ] || continue
			note "killing leftover container process $pid: $(cut -d' ' -f2-3 "/proc/$pid/stat" 2>/dev/null), parent $(awk '$1 == "PPid:" { print $2 }' "/proc/$pid/status" 2>/dev/null)"
			kill -KILL "$pid" 2>/dev/null || true
		done <"$pid_log"
		rm -f "$pid_log"
	fi
	rm -rf --one-file-system "$state_root"
}

# Mount points under DIR in our mount namespace, deepest first. mountinfo
# escapes space, tab, newline and backslash in paths as octal.
mounts_under() {
	awk -v dir="$1" '{
		p = $5
		while (match(p, /\\[0-7][0-7][0-7]/)) {
			c = sprintf("%c", (substr(p, RSTART+1, 1) * 64) + (substr(p, RSTART+2, 1) * 8) + substr(p, RSTART+3, 1))
			p = substr(p, 1, RSTART-1) c substr(p, RSTART+4)
		}
		if (p == dir || index(p, dir "/") == 1) print length(p) "\t" p
	}' /proc/self/mountinfo | sort -rn | cut -f2-
}

cleanup_mounts_and_bundles() {
	local dir=$1 m left
	# e.g. linux_ns_itype: without a mount namespace, the runtime mounts
	# proc, sys and dev of the bundle in our namespace.
	while IFS= read -r m; do
		[ -n "$m" ] || continue
		note "unmounting $m"
		umount -l "$m" 2>>"$cur_log" || true
	done < <(mounts_under "$dir")
	left=$(mounts_under "$dir")
	if [ -n "$left" ]; then
		# rm -rf must not walk into a mount; leave the directory for a human.
		echo "conformance: could not unmount under $dir: $left" >&2
		note "still mounted: $left"
		return
	fi
	if [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		note "removing leftover bundles: $(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f ')"
	fi
	rm -rf --one-file-system "$dir" 2>>"$cur_log" || echo "conformance: could not remove $dir" >&2
}

# The cgroup tests use /cgrouptest (absolute) and testdir/cgrouptest/container
# (relative to the runtime's own cgroup, which differs between runtimes and
# controllers); a failed test leaves them. Remove only such directories, and
# only with rmdir, which fails on a cgroup that still has processes.
cleanup_cgroups() {
	[ -d /sys/fs/cgroup ] || return 0
	local d parent
	while IFS= read -r d; do
		kill_cgroup_tree "$d"
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		if [ -d "$d" ]; then
			note "could not remove cgroup $d"
			echo "conformance: could not remove the test cgroup $d" >&2
			continue
		fi
		note "removed cgroup $d"
		parent=$(dirname "$d")
		if [ "$(basename "$parent")" = testdir ]; then rmdir "$parent" 2>/dev/null || true; fi
	done < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -type d -name cgrouptest -prune 2>/dev/null)
}

# kill_cgroup_tree DIR: kills what is left in a test cgroup and its children
# (a container whose runtime lost track of it): cgroup.kill where the kernel
# has it (cgroup v2, 5.14), which no fork can outrun; else each listed pid.
kill_cgroup_tree() {
	local d=$1 procs _
	procs=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
	[ -n "${procs// /}" ] || return 0
	note "killing the processes left in cgroup $d: $procs"
	if [ -e "$d/cgroup.kill" ]; then
		echo 1 >"$d/cgroup.kill" 2>>"$cur_log" || true
	else
		# shellcheck disable=SC2086 # one pid a word
		kill -KILL $procs 2>/dev/null || true
	fi
	# They are gone once their exit is through; rmdir needs that.
	for _ in $(seq 50); do
		[ -n "$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] || return 0
		sleep 0.1
	done
	note "processes still in cgroup $d after SIGKILL: $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
# A program that outlives --timeout.

# descendants PID: PID and every process below it, one a line.
descendants() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
	{ kids[$2] = kids[$2] " " $1 }
	END {
		q[n = 1] = root
		for (i = 1; i <= n; i++) {
			print q[i]
			c = split(kids[q[i]], k, " ")
			for (j = 1; j <= c; j++) q[++n] = k[j]
		}
	}'
}

# on_timeout PID NAME: writes what the program was doing into $diag (its
# process tree with states and kernel wait channels, every task blocked in
# the kernel and, with --dump-on-timeout, their stacks), then kills the
# whole tree: the process group timeout(1) leads (the program and the runtime
# commands it started) and every descendant, also those that left the group
# (a container's init makes itself a session leader).
on_timeout() {
	local pid=$1 name=$2 tree round left
	tree=$(descendants "$pid" | paste -sd, -)
	{
		echo "# ---- timeout after ${timeout_s}s: the program's process tree"
		ps -o pid,ppid,pgid,sid,stat,wchan:32,etimes,args -p "$tree"
		echo "# ---- tasks blocked in the kernel (state D), anywhere"
		ps -e -o pid,ppid,stat,wchan:32,etimes,args | awk 'NR == 1 || $3 ~ /^D/'
		if [ -n "$dump_on_timeout" ]; then
			echo "# ---- the kernel's stacks of the blocked tasks (sysrq w)"
			echo "conformance: $name timed out" >/dev/kmsg
			echo w >/proc/sysrq-trigger
			sleep 1
			dmesg | sed -n "/conformance: $name timed out/,\$p" | head -n 500
			# Every task's stack: too long for this log, it stays in the kernel's.
			echo t >/proc/sysrq-trigger
		fi
	} >"$diag" 2>&1
	# Stopped first, so that none forks past the listing; twice, for what
	# was forked while the first round was listed.
	for round in 1 2; do
		tree=$(descendants "$pid" | tr '\n' ' ')
		# shellcheck disable=SC2086 # one pid a word
		kill -STOP -- "-$pid" $tree 2>/dev/null || true
		# shellcheck disable=SC2086
		kill -KILL -- "-$pid" $tree 2>/dev/null || true
		[ "$round" -eq 2 ] || sleep 0.5
	done
	sleep 1
	left=$(ps -o pid=,ppid=,stat=,wchan:32=,args= -p "$(descendants "$pid" | paste -sd, -)" 2>/dev/null |
		awk '$3 !~ /^Z/')
	[ -z "$left" ] || printf '# ---- still alive after SIGKILL (stuck in the kernel?)\n%s\n' "$left" >>"$diag"
}

# watch_program PID NAME: calls on_timeout when PID outlives --timeout; the caller
# ends the watch with SIGTERM once PID is gone.
watch_program() {
	local s
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	sleep "$timeout_s" &
	s=$!
	wait "$s"
	# Past this point the dump and the kill must finish.
	trap '' TERM
	kill -0 "$1" 2>/dev/null || exit 0
	on_timeout "$1" "$2"
}

# ---------------------------------------------------------------------------
# TAP. Count column-0 "ok"/"not ok" lines (runtimetest's own TAP, when nested,
# is indented inside YAML). A YAML block with an "error" key that is not
# attached to a test point (it comes before any test point of its TAP
# document) reports an error of the whole program: the hook tests print only
# that and "1..0". An "error" under a test point is that point's diagnostic
# (the *_fail checks attach the expected error to their "ok").

tap_counts() { # FILE -> "ok not_ok skip program_errors"
	awk '
	/^TAP version/ { seen = 0; next }
	/^1\.\.[0-9]+/ { seen = 0; next }
	/^not ok/ { seen = 1; nok++; inyaml = 0; next }
	/^ok/ { seen = 1; inyaml = 0; if (tolower($0) ~ /# skip/) skip++; else ok++; next }
	/^[ \t]+---[ \t]*$/ { inyaml = 1; attached = seen; next }
	/^[ \t]+\.\.\.[ \t]*$/ { inyaml = 0; next }
	inyaml && /^[ \t]+"error":/ && !attached { perr++ }
	END { print ok + 0, nok + 0, skip + 0, perr + 0 }' "$1"
}

# ---------------------------------------------------------------------------
# Run.

results=$workdir/results.tsv
printf 'program\tok\tnot_ok\tskip\tverdict\tseconds\texit\n' >"$results"
echo "conformance: runtime $runtime, suite $SUITE_VERSION, logs in $logs" >&2
# Start from a clean slate, e.g. after an interrupted run.
cur_log=$logs/pre-run.log
cleanup_containers
cleanup_mounts_and_bundles "$scratch/tmp"
cleanup_cgroups
rm -f "$create_log"

passed=0
failed_names=()
for name in "${programs[@]}"; do
	cur_log=$logs/$name.log
	tmp=$scratch/tmp/$name
	mkdir -p "$tmp" "$state_root"
	out=$logs/$name.stdout
	err=$logs/$name.stderr
	diag=$logs/$name.timeout
	start=$(date +%s)
	rc=0
	# timeout makes itself a process-group leader: after the program ends we
	# kill what is left of that group. The watch kills the whole tree at
	# --timeout; timeout(1) itself is the backstop, should the watch fail.
	# (fd 9, the lock, is closed so that a leaked process cannot hold it.)
	(cd "$suitecwd" && exec env TMPDIR="$tmp" RUNTIME="$wrapper" \
		timeout -k 5 $((timeout_s + 60)) "$suite/validation/$name/$name.t" >"$out" 2>"$err" 9>&-) &
	pid=$!
	watch_program "$pid" "$name" 9>&- &
	watcher=$!
	# (bash would report the group's SIGKILL as "Killed" on stderr.)
	wait "$pid" 2>/dev/null || rc=$?
	kill -TERM "$watcher" 2>/dev/null || true
	wait "$watcher" || true
	kill -KILL -- "-$pid" 2>/dev/null || true
	secs=$(($(date +%s) - start))
	read -r ok nok skip perr < <(tap_counts "$out")

	{
		echo "# $name: exit $rc after ${secs}s (RUNTIME=$runtime, TMPDIR=$tmp)"
		echo "# ---- stdout"
		cat "$out"
		echo "# ---- stderr"
		cat "$err"
		echo "# ---- runtime create calls"
		cat "$create_log" 2>/dev/null || true
		echo "# ----"
		cat "$diag" 2>/dev/null || true
	} >"$cur_log"
	timed_out=
	if [ -s "$diag" ]; then
		timed_out=1
		echo "conformance: $name timed out; its process tree and the blocked tasks are in $cur_log" >&2
	fi
	rm -f "$out" "$err" "$create_log" "$diag"

	cleanup_containers
	cleanup_mounts_and_bundles "$tmp"
	cleanup_cgroups

	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ -n "$timed_out" ]; then
		verdict=TIMEOUT
	elif [ "$rc" -eq 0 ] && [ "$nok" -eq 0 ] && [ "$perr" -eq 0 ]; then
		verdict=PASS
		passed=$((passed + 1))
	else
		verdict=FAIL
	fi
	[ "$verdict" = PASS ] || failed_names+=("$name")
	printf '%-32s ok=%-4s not_ok=%-3s skip=%-3s %s\n' "$name" "$ok" "$nok" "$skip" "$verdict"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ok" "$nok" "$skip" "$verdict" "$secs" "$rc" >>"$results"
done
rmdir "$scratch/tmp" "$scratch" 2>/dev/null || true

echo "conformance: $passed/${#programs[@]} programs pass"

if [ ${#expected[@]} -gt 0 ]; then
	regressed=()
	for want in "${expected[@]}"; do
		for name in "${failed_names[@]}"; do
			[ "$name" = "$want" ] && regressed+=("$want")
		done
	done
	if [ ${#regressed[@]} -gt 0 ]; then
		echo "conformance: ${#regressed[@]} expected to pass but did not (logs in $logs): ${regressed[*]}" >&2
		exit 1
	fi
	echo "conformance: every program of $(basename "$expect") that ran passed"
fi
exit 0
}
