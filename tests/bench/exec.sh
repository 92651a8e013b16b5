#!/usr/bin/env bash
# exec.sh [RUNS]: time `exec ID true` into a running busybox container,
# oci-rt against runc, alternating so that load drifts hit both alike;
# prints the medians (ms) and oci-rt/runc. Needs root, runc and ./oci-rt.
set -euo pipefail
runs=${1:-30}
here=$(cd "$(dirname "$0")/../.." && pwd)
ocirt=$here/oci-rt
[ -x "$ocirt" ] || { echo "bench: build oci-rt first (make build)" >&2; exit 1; }
command -v runc >/dev/null || { echo "bench: runc not found" >&2; exit 1; }
work=$(mktemp -d /tmp/oci-rt-bench-exec.XXXXXX)
id=bench-exec-$$
cleanup() {
	"$ocirt" --root "$work/oci-rt" delete -f "$id" >/dev/null 2>&1 || true
	runc --root "$work/runc" delete -f "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
"$here/tests/mkbundle.sh" "$work/bundle" >/dev/null
cfg=$work/bundle/config.json
# runc 1.1 only knows spec 1.0.x; the config is otherwise the same.
jq '.process.terminal=false | .process.args=["sleep","100000"] | .ociVersion="1.0.2"' "$cfg" >"$cfg.new"
mv "$cfg.new" "$cfg"
"$ocirt" --root "$work/oci-rt" run -d --bundle "$work/bundle" "$id" </dev/null >/dev/null
runc --root "$work/runc" run -d --bundle "$work/bundle" "$id" </dev/null >/dev/null

# ms prints the wall time of one run of "$@" in milliseconds.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" </dev/null >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f", m / 1000}'; }
o=() r=()
for _ in $(seq "$runs"); do
	o+=("$(ms "$ocirt" --root "$work/oci-rt" exec "$id" true)")
	r+=("$(ms runc --root "$work/runc" exec "$id" true)")
done
om=$(printf '%s\n' "${o[@]}" | median)
rm_=$(printf '%s\n' "${r[@]}" | median)
printf 'exec true, %d runs each (load: %s)\n' "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  oci-rt median %8s ms\n  runc   median %8s ms\n  ratio oci-rt/runc %s\n' "$om" "$rm_" "$(awk -v a="$om" -v b="$rm_" 'BEGIN {printf "%.2f", a / b}')"
