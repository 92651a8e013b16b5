#!/bin/bash
# Run the conformance suite's cgroup programs inside the pure cgroup v2 VM
# (tests/vm/run.sh) and judge each one: PASS, V1-ONLY (the runtime's create
# succeeded and the suite's cgroup v1-only reader stopped the program), FAIL or
# TIMEOUT. With --expect, exit 1 when a listed program does worse than listed.
# See README.md ("In the VM test bed").
set -euo pipefail

# Parsed completely before it runs, like run.sh: editing this file during a
# run cannot make the running shell read a shifted script.
{

usage() {
	cat <<'EOF'
usage: tests/conformance/vm.sh [options]

Builds the suite on the host (run.sh --build-only), boots the cgroup v2 VM
once and runs the cgroup programs in it with run.sh (work directory on the
guest's tmpfs), then prints
  NAME  ok=N  not_ok=N  skip=N  PASS|V1-ONLY|FAIL|TIMEOUT|NOT-RUN
per program and a total, labelled as the VM run.

options:
  --runtime PATH   runtime to test (default ./oci-rt of the repo); the guest
                   must see it: not under /tmp or /run outside the work tree
  --expect FILE    lines "PROGRAM PASS|V1-ONLY" (# comments); exit 1 naming
                   each listed program that did worse
  --timeout SECS   per-program timeout in the guest (default 180)
  --vm-timeout S   kill the VM after S seconds (default 900)
  --out DIR        where the guest's logs come back (default
                   tests/conformance/.cache/vm; emptied first)
  --from DIR       do not run the VM: judge the logs of an earlier --out DIR
  -h, --help       this text

Exit status: 0 when the VM run completed (and, with --expect, nothing did
worse than listed); 1 on a regression or an incomplete VM run; 2 on a usage
error; 3 if the suite could not be built.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

runtime=$repo/oci-rt
expect=
timeout_s=180
vm_timeout=900
out=$here/.cache/vm
from=
while [ $# -gt 0 ]; do
	case $1 in
	--runtime) runtime=${2:?--runtime needs a path}; shift 2 ;;
	--expect) expect=${2:?--expect needs a file}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	--vm-timeout) vm_timeout=${2:?--vm-timeout needs seconds}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--from) from=${2:?--from needs a directory}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "conformance (VM): unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
for n in "$timeout_s" "$vm_timeout"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "conformance (VM): not a positive number: $n" >&2; exit 2; }
done

# The programs: every linux_cgroups_* of the suite and delete_resources, the
# ones that set cgroup resources. (delete_only_create_resources is not one:
# it sets none and itself writes the v1 file /sys/fs/cgroup/pids/cgrouptest/tasks;
# it runs on the host, where it passes.)
run_sh=$here/run.sh
suite=$("$run_sh" --build-only | sed -n 's/^conformance: suite built in //p') || exit 3
suite=$suite/validation
[ -d "$suite" ] || { echo "conformance (VM): run.sh --build-only named no suite directory" >&2; exit 3; }
programs=(delete_resources)
for d in "$suite"/linux_cgroups_*/; do
	d=${d%/}
	programs+=("${d##*/}")
done

# The expectations, as "name verdict" lines.
declare -A want=()
if [ -n "$expect" ]; then
	[ -r "$expect" ] || { echo "conformance (VM): cannot read the expect file $expect" >&2; exit 2; }
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		read -r name verdict extra <<<"$line" || true
		[ -n "${name:-}" ] || continue
		case ${verdict:-} in PASS | V1-ONLY) ;; *)
			echo "conformance (VM): $expect: $name: want PASS or V1-ONLY, got '${verdict:-}'" >&2; exit 2 ;;
		esac
		[ -z "${extra:-}" ] || { echo "conformance (VM): $expect: trailing words after $name $verdict" >&2; exit 2; }
		[[ " ${programs[*]} " == *" $name "* ]] ||
			{ echo "conformance (VM): $expect names $name, which is not one of the VM's programs" >&2; exit 2; }
		want[$name]=$verdict
	done <"$expect"
fi

# ---------------------------------------------------------------------------
# Run the programs in the VM, or take an earlier run's logs.

vm_rc=0
if [ -z "$from" ]; then
	case $runtime in /*) ;; *) runtime=$PWD/$runtime ;; esac
	[ -x "$runtime" ] || { echo "conformance (VM): runtime $runtime is not executable (for oci-rt: make build)" >&2; exit 2; }
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	# Two runs must not empty each other's logs.
	exec 8>>"$out/.lock"
	flock 8
	find "$out" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
	echo "conformance (VM): running ${#programs[@]} cgroup programs in the cgroup v2 VM (a few minutes); guest output in $out/guest-output.txt"
	start=$SECONDS
	# The guest's work directory is on its tmpfs (bundles on the 9p share
	# would not behave as on a disk); the second command brings back the
	# logs even when run.sh failed.
	# shellcheck disable=SC2016 # $VM_OUT is expanded in the guest
	(cd "$repo" && exec tests/vm/run.sh --timeout "$vm_timeout" --out "$out" -- \
		"$run_sh" --runtime "$runtime" --workdir /tmp/conformance --timeout "$timeout_s" --dump-on-timeout \
		--only "${programs[@]}" \
		--- sh -c 'cp -r /tmp/conformance/logs /tmp/conformance/results.tsv "$VM_OUT"/') \
		>"$out/guest-output.txt" 2>&1 8>&- || vm_rc=$?
	secs=$((SECONDS - start))
	if [ "$vm_rc" -ne 0 ]; then
		echo "conformance (VM): the VM run failed (tests/vm/run.sh exit $vm_rc: 124 timeout, 125 VM failure, 3 suite setup); its output ends:" >&2
		# After a VM timeout the interesting part is where the guest's
		# tasks were stuck, which run.sh prints above its last lines.
		awk '/^vm: ---- blocked tasks/ { b = 1 } b && n++ < 150 { print } /^vm: ---- end of blocked tasks/ { b = 0 }' \
			"$out/guest-output.txt" >&2
		tail -n 15 "$out/guest-output.txt" >&2
		echo "conformance (VM): the guest's kernel log is in $out/vm-dmesg.txt and $out/vm-console.txt" >&2
	fi
else
	out=$(cd "$from" && pwd)
	secs=
fi

# ---------------------------------------------------------------------------
# Judge each program from results.tsv and its log.

# judge LOG EXIT: prints "V1-ONLY" or "FAIL <why>" for a program run.sh
# called FAIL. V1-ONLY needs all of:
# - the runtime's part succeeded: the wrapper recorded at least one create
#   and every create exited 0, and the suite printed no "failed to create
#   the container";
# - the program stopped at the suite's cgroup v1-only reader: every "not ok"
#   test point carries the diagnostic "cgroupv2 is not supported yet" or
#   "unimplemented yet" (cgroups/cgroups.go:74, cgroups/cgroups_v2.go), and
#   a program that exited non-zero ended with that error as its last line of
#   stderr (util.Fatal).
judge() {
	awk -v rc="$2" '
	function v1(s) { return s == "cgroupv2 is not supported yet" || s == "unimplemented yet" }
	/^# ---- stdout$/ { sec = "out"; next }
	/^# ---- stderr$/ { sec = "err"; next }
	/^# ---- runtime create calls$/ { sec = "creates"; next }
	/^# ----$/ { sec = ""; next }
	sec == "out" {
		if (pending && !v1(substr($0, 3))) other++
		pending = /^not ok/
		if (substr($0, 1, 2) == "# " && v1(substr($0, 3))) v1seen++
	}
	sec == "err" {
		# The line after this one is the runtime'"'"'s error.
		if (createfail == 1 && createerr == "") createerr = $0
		if ($0 == "failed to create the container") createfail++
		if (v1($0)) v1seen++
		if (NF && firsterr == "") firsterr = $0
		if (NF) lasterr = $0
	}
	sec == "creates" { if (/^exit 0: /) cok++; else { cbad++; if (!firstbad) firstbad = $0 } }
	END {
		if (pending) other++
		if (cbad || createfail) why = "create failed" (createerr != "" ? ": " createerr : " (" firstbad ")")
		else if (!cok) why = "no successful create recorded" (firsterr != "" ? "; " firsterr : "")
		else if (!v1seen) why = "no cgroup v1-only stop" (firsterr != "" ? "; " firsterr : "")
		else if (other) why = other " failed test point(s) without the v1-only diagnostic"
		else if (rc != 0 && !v1(lasterr)) why = "exit " rc (firsterr != "" ? ": " firsterr : "")
		gsub(/[\t]/, " ", why)
		print why == "" ? "V1-ONLY" : "FAIL " substr(why, 1, 160)
	}' "$1"
}

rank() {
	case $1 in PASS) echo 3 ;; V1-ONLY) echo 2 ;; FAIL) echo 1 ;; *) echo 0 ;; esac
}

declare -A got=()
results=$out/results.tsv
if [ -f "$results" ]; then
	while IFS=$'\t' read -r name ok nok skip verdict _ rc; do
		[ "$name" != program ] || continue
		why=
		if [ "$verdict" = FAIL ] && [ -f "$out/logs/$name.log" ]; then
			read -r verdict why < <(judge "$out/logs/$name.log" "$rc")
		elif [ "$verdict" = FAIL ]; then
			why="no log"
		fi
		got[$name]=$verdict
		printf '%-32s ok=%-4s not_ok=%-3s skip=%-3s %s%s\n' "$name" "$ok" "$nok" "$skip" "$verdict" "${why:+  ($why)}"
		# What a stalled program was doing, as run.sh recorded it at its timeout.
		if [ "$verdict" = TIMEOUT ] && [ -f "$out/logs/$name.log" ]; then
			sed -n '/^# ---- timeout after/,$p' "$out/logs/$name.log" | head -n 60 | sed 's/^/    /'
		fi
	done <"$results"
fi
for name in "${programs[@]}"; do
	[ -z "${got[$name]:-}" ] || continue
	got[$name]=NOT-RUN
	printf '%-32s ok=%-4s not_ok=%-3s skip=%-3s %s\n' "$name" - - - NOT-RUN
done

passed=0 v1only=0
for name in "${programs[@]}"; do
	case ${got[$name]} in PASS) passed=$((passed + 1)) ;; V1-ONLY) v1only=$((v1only + 1)) ;; esac
done
echo "conformance (VM): $passed/${#programs[@]} programs pass, $v1only more V1-ONLY (the runtime created the container; the suite cannot read cgroup v2)${secs:+; ${secs}s for the VM step}"

status=0
[ "$vm_rc" -eq 0 ] || status=1
if [ -n "$expect" ]; then
	worse=() better=()
	for name in "${programs[@]}"; do
		[ -n "${want[$name]:-}" ] || continue
		w=$(rank "${want[$name]}") g=$(rank "${got[$name]}")
		if [ "$g" -lt "$w" ]; then
			worse+=("$name (${got[$name]}, expected ${want[$name]})")
		elif [ "$g" -gt "$w" ]; then
			better+=("$name (${got[$name]})")
		fi
	done
	[ ${#better[@]} -eq 0 ] ||
		echo "conformance (VM): better than $(basename "$expect") lists, update it: ${better[*]}"
	if [ ${#worse[@]} -gt 0 ]; then
		echo "conformance (VM): ${#worse[@]} did worse than expected (logs in $out/logs): ${worse[*]}" >&2
		status=1
	else
		echo "conformance (VM): every program of $(basename "$expect") did at least as well as listed"
	fi
fi
exit "$status"
}
