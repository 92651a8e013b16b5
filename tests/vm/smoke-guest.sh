#!/bin/bash
# The guest half of smoke.sh: checks, inside the VM, that the test bed is what
# the cgroup tests expect, and times runc/crun. Prints "smoke: FAIL ..." and
# exits non-zero at the first problem.
set -euo pipefail

read -r uptime _ </proc/uptime
echo "timing: first command started ${uptime}s after kernel start"

fail() {
	echo "smoke: FAIL: $*"
	exit 1
}
ok() { echo "smoke: ok: $*"; }

[ -n "${VM_OUT:-}" ] || fail "VM_OUT is not set"

# --- the hierarchy ---------------------------------------------------------
cg=/sys/fs/cgroup
fstype=$(stat -f -c %T $cg)
[ "$fstype" = cgroup2fs ] || fail "$cg is $fstype, not cgroup2"
if grep -q ' cgroup ' /proc/mounts; then fail "cgroup v1 hierarchies are mounted"; fi
ok "$cg is a pure cgroup2 hierarchy"

controllers=$(cat $cg/cgroup.controllers)
enabled=$(cat $cg/cgroup.subtree_control)
for c in memory pids cpu io cpuset hugetlb; do
	[[ " $controllers " == *" $c "* ]] || fail "controller $c missing from cgroup.controllers ($controllers)"
	[[ " $enabled " == *" $c "* ]] || fail "controller $c not enabled in the root's subtree_control ($enabled)"
done
ok "controllers available and enabled: $enabled"

[ "$(cat /proc/sys/vm/nr_hugepages)" -gt 0 ] || fail "no hugepages reserved"
ok "$(cat /proc/sys/vm/nr_hugepages) hugepages reserved"

# --- a child cgroup with a memory limit that really bites -------------------
child=$cg/vm-smoke.$$
mkdir "$child"
trap 'rmdir "$child" 2>/dev/null || true' EXIT
echo 16M >"$child/memory.max"
[ "$(cat "$child/memory.max")" = 16777216 ] || fail "memory.max reads $(cat "$child/memory.max")"
[ -e "$child/hugetlb.2MB.max" ] || fail "no hugetlb.2MB.max in a child cgroup"
# tail keeps an unterminated line in memory until EOF: 64 MiB cannot fit.
if sh -c 'echo $$ >"$1/cgroup.procs" && head -c 64M /dev/zero | tail -n 1 >/dev/null' sh "$child" 2>/dev/null; then
	fail "a 64 MiB allocation succeeded under memory.max=16M"
fi
oom_kills=$(awk '$1 == "oom_kill" { print $2 }' "$child/memory.events")
[ "${oom_kills:-0}" -ge 1 ] || fail "memory.events reports no oom_kill: $(tr '\n' ' ' <"$child/memory.events")"
[ -z "$(cat "$child/cgroup.procs")" ] || fail "processes left in $child"
rmdir "$child"
ok "child cgroup with memory.max=16M: a 64 MiB hog was OOM-killed ($oom_kills oom_kill)"

# --- filesystems -------------------------------------------------------------
[ "$(pwd -P)" = "$VM_EXPECT_CWD" ] || fail "cwd is $(pwd -P), want $VM_EXPECT_CWD"
if touch .vm-smoke-ro 2>/dev/null; then
	rm -f .vm-smoke-ro
	fail "the host's / is writable from the guest"
fi
{ echo ok >/tmp/vm-smoke && rm /tmp/vm-smoke; } || fail "/tmp is not writable"
echo ok >"$VM_OUT/smoke-out" || fail "cannot write to \$VM_OUT=$VM_OUT"
for d in /dev/shm /dev/pts /sys/fs/bpf /dev/hugepages; do
	mountpoint -q "$d" || fail "$d is not mounted"
done
[ "$(readlink /proc/self/exe)" = "$(command -v readlink)" ] || fail "/proc/self/exe is wrong: $(readlink /proc/self/exe)"
ok "cwd is the host's, read-only; /tmp and \$VM_OUT writable; /dev/shm, /dev/pts, bpffs, hugetlbfs mounted"

# CRIU dumps only tasks whose root is their mount namespace's root, so the
# host's tree must hang at / of the namespace, not below it (a chroot). PID 1
# kept the namespace's first root: its mountinfo shows where the tree hangs.
root_id=$(awk '$5 == "/" { print $1 }' /proc/self/mountinfo)
hangs_at=$(awk -v id="$root_id" '$1 == id { print $5 }' /proc/1/mountinfo)
[ "$hangs_at" = / ] || fail "the host's tree hangs at ${hangs_at:-?} of the mount namespace, not at / (a chroot?)"
if command -v criu >/dev/null; then
	criu check >/tmp/criu-check.txt 2>&1 || fail "criu check failed: $(tail -n 3 /tmp/criu-check.txt)"
	grep -q 'Looks good' /tmp/criu-check.txt || fail "criu check did not say Looks good: $(tail -n 3 /tmp/criu-check.txt)"
	ok "/ is the mount namespace's root; criu check: Looks good"
else
	ok "/ is the mount namespace's root (criu is not installed, not checked)"
fi

# --- OCI runtimes --------------------------------------------------------------
bundle=/tmp/smoke-bundle
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/sh"
ln -s busybox "$bundle/rootfs/bin/true"
ln -s busybox "$bundle/rootfs/bin/false"
(cd "$bundle" && runc spec)
sed -i -e 's/"terminal": true/"terminal": false/' \
	-e 's/^\([[:space:]]*\)"sh"$/\1"true"/' "$bundle/config.json"
if ! grep -q '"terminal": false' "$bundle/config.json" || ! grep -q '^[[:space:]]*"true"$' "$bundle/config.json"; then
	fail "could not edit the config made by runc spec"
fi
# crun 1.8.1 refuses ociVersion values it does not know.
sed 's/"ociVersion": "[^"]*"/"ociVersion": "1.0.2"/' "$bundle/config.json" >/tmp/crun-config.json

ms_now() { echo $((${EPOCHREALTIME/./} / 1000)); }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# time_runtime NAME CMD...: runs the bundle ${SMOKE_RUNS:-10} times with CMD.
time_runtime() {
	local name=$1 i t0 times=()
	shift
	for ((i = 0; i < ${SMOKE_RUNS:-10}; i++)); do
		t0=$(ms_now)
		"$@" --bundle "$bundle" "smoke-$name-$i" </dev/null || fail "$name run failed (run $i)"
		times+=($(($(ms_now) - t0)))
	done
	echo "timing: $name run of busybox true: median $(printf '%s\n' "${times[@]}" | median) ms over ${#times[@]} runs (all: ${times[*]})"
}

set_args() { sed -i "s/^\([[:space:]]*\)\"$1\"\$/\1\"$2\"/" "$3"; }

runc --root /run/runc-smoke run --bundle "$bundle" smoke-runc </dev/null || fail "runc run of busybox true failed"
ok "runc run of busybox true"
set_args true false "$bundle/config.json"
rc=0
runc --root /run/runc-smoke run --bundle "$bundle" smoke-runc-false </dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "runc run of busybox false exited $rc, want 1"
set_args false true "$bundle/config.json"
ok "runc run of busybox false exits 1"
time_runtime runc runc --root /run/runc-smoke run

if command -v crun >/dev/null; then
	mv "$bundle/config.json" /tmp/runc-config.json
	cp /tmp/crun-config.json "$bundle/config.json"
	crun --root /run/crun-smoke run --bundle "$bundle" smoke-crun </dev/null || fail "crun run of busybox true failed"
	ok "crun run of busybox true"
	time_runtime crun crun --root /run/crun-smoke run
	mv /tmp/runc-config.json "$bundle/config.json"
else
	echo "smoke: crun is not installed, not timed"
fi

echo "smoke: all guest checks passed"
