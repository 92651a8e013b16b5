#!/bin/bash
# Self-test of the VM harness: boots the guest a few times and checks that
# run.sh passes on exit statuses, runs every command of a list, carries files
# out through $VM_OUT, enforces its timeout without leaving qemu behind, that
# the guest is the cgroup v2 test bed the tests expect (smoke-guest.sh), and
# that --init systemd boots systemd with D-Bus, transient units and reloads.
#
# Usage: tests/vm/smoke.sh   (any cwd; about a minute on an idle host)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
run=$here/run.sh
cd "$here/../.."

failures=0
fail() {
	echo "smoke: FAIL: $*" >&2
	failures=$((failures + 1))
}

work=$(mktemp -d "$here/.cache/smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== guest checks and runtime timings"
rc=0
"$run" --out "$work/out" --env VM_EXPECT_CWD="$(pwd -P)" -- "$here/smoke-guest.sh" || rc=$?
[ "$rc" -eq 0 ] || fail "smoke-guest.sh exited $rc"
[ "$(cat "$work/out/smoke-out" 2>/dev/null)" = ok ] || fail "the file written to \$VM_OUT did not reach --out"

echo "== exit statuses and command lists"
rc=0
"$run" -- true --- sh -c 'exit 7' --- sh -c 'echo third ran; exit 3' >"$work/list.out" || rc=$?
cat "$work/list.out"
[ "$rc" -eq 7 ] || fail "a list whose first failure exits 7 made run.sh exit $rc"
grep -qx 'third ran' "$work/list.out" || fail "the command after a failing one did not run"

echo "== systemd as PID 1 (--init systemd)"
# The checks print one word each; a status of 5 must come back as well.
# shellcheck disable=SC2016 # expanded in the guest
checks='echo "pid1=$(cat /proc/1/comm)"
echo "state=$(systemctl is-system-running --wait)"
systemd-run --quiet --scope --unit=smoke-scope true && echo scope=ok
systemctl daemon-reload && echo reload=ok
busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager GetUnit s dbus.socket >/dev/null && echo dbus=ok
touch /etc/smoke-writable && echo etc=writable
exit 5'
rc=0
"$run" --init systemd --timeout 300 -- sh -c "$checks" >"$work/systemd.out" || rc=$?
cat "$work/systemd.out"
[ "$rc" -eq 5 ] || fail "--init systemd: the commands' exit 5 made run.sh exit $rc"
for want in pid1=systemd state=running scope=ok reload=ok dbus=ok etc=writable; do
	grep -qx "$want" "$work/systemd.out" || fail "--init systemd: no line $want"
done

echo "== timeout"
rc=0
start=$SECONDS
"$run" --verbose --timeout 3 -- sleep 600 >/dev/null 2>"$work/timeout.err" || rc=$?
[ "$rc" -eq 124 ] || fail "a command outliving --timeout made run.sh exit $rc, want 124"
[ $((SECONDS - start)) -lt 60 ] || fail "run.sh took $((SECONDS - start))s to give up after a 3s timeout"
grep -q 'timed out after 3s' "$work/timeout.err" || fail "no timeout message: $(cat "$work/timeout.err")"
# The run's share directory is on qemu's command line: no process may have it.
share=$(grep -o "path=$here/.cache/run\.[A-Za-z0-9]*" "$work/timeout.err" | head -1)
if [ -z "$share" ]; then
	fail "could not find the run's directory in --verbose output"
elif pgrep -f "$share" >/dev/null; then
	fail "qemu still runs after the timeout: $(pgrep -af "$share")"
fi

if [ "$failures" -ne 0 ]; then
	echo "smoke: $failures check(s) failed" >&2
	exit 1
fi
echo "smoke: all checks passed"
