#!/bin/bash
# Run commands as root inside a throw-away qemu VM with a pure cgroup v2
# hierarchy, or cgroup v1 hierarchies only (--cgroup v1; see README.md). The guest sees the host's / read-only, so the
# commands run from the host's current directory, at the same path.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/vm/run.sh [options] -- CMD [ARGS...] [--- CMD [ARGS...]]...

Boots a qemu VM (Debian's kernel, cgroup v2 only or with --cgroup v1 the v1
hierarchies only, host / mounted read-only),
runs each CMD in order as root in the host's current directory (or --cwd),
streams the output, and exits with the first non-zero status of the
commands (0 if all succeeded). All commands run even if one fails.

options:
  --timeout SECS  kill the VM after SECS seconds (default 1200); exit 124
  --mem MB        guest memory (default 4096)
  --cpus N        guest CPUs (default 2)
  --env NAME=VAL  set an environment variable for the commands (repeatable)
  --out DIR       copy what the commands wrote to $VM_OUT into host DIR
  --cwd DIR       run the commands in DIR (default: the current directory)
  --verbose       show kernel messages and the qemu command line
  --kernel-args S append S to the guest kernel's command line
  --cgroup v2|v1  the guest's cgroup layout (default v2): v2 mounts cgroup2
                  alone at /sys/fs/cgroup; v1 mounts each v1 controller at
                  /sys/fs/cgroup/<controller> and no cgroup2 (a legacy host)
  --modules A,B   modprobe these modules before the commands (repeatable;
                  the kernel also loads modules on demand, e.g. CRIU's)
  --init busybox|systemd
                  the guest's PID 1 (default busybox): systemd boots the
                  host's systemd on the host's / plus a writable layer in
                  memory, with D-Bus; the commands run as its oneshot
                  service; --cgroup v1 then gives systemd's hybrid layout

Exit status: the commands' status, 124 on timeout, 125 if the VM could not
run the commands, 2 on a usage error.
EOF
}

die() {
	echo "vm: $*" >&2
	exit 125
}

here=$(cd "$(dirname "$0")" && pwd)
cache=$here/.cache

timeout_s=1200
mem=4096
cpus=2
outdir=
workdir=.
verbose=
kargs=
cgroup_mode=v2
init_mode=busybox
envs=()
modules=()
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
	--mem) mem=${2:?--mem needs a value}; shift 2 ;;
	--cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
	--env) envs+=("${2:?--env needs NAME=VALUE}"); shift 2 ;;
	--out) outdir=${2:?--out needs a directory}; shift 2 ;;
	--cwd) workdir=${2:?--cwd needs a directory}; shift 2 ;;
	--verbose) verbose=1; shift ;;
	--kernel-args) kargs=${2:?--kernel-args needs a value}; shift 2 ;;
	--cgroup) cgroup_mode=${2:?--cgroup needs v1 or v2}; shift 2 ;;
	--init) init_mode=${2:?--init needs busybox or systemd}; shift 2 ;;
	--modules) IFS=, read -ra mods <<<"${2:?--modules needs a list}"; modules+=("${mods[@]}"); shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) echo "vm: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
if [ $# -eq 0 ]; then
	echo "vm: no command given" >&2
	usage >&2
	exit 2
fi
for n in "$timeout_s" "$mem" "$cpus"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "vm: not a positive number: $n" >&2; exit 2; }
done
case $cgroup_mode in
v1 | v2) ;;
*) echo "vm: --cgroup wants v1 or v2, got $cgroup_mode" >&2; exit 2 ;;
esac
case $init_mode in
busybox | systemd) ;;
*) echo "vm: --init wants busybox or systemd, got $init_mode" >&2; exit 2 ;;
esac
[ "$init_mode" = busybox ] || [ -x /lib/systemd/systemd ] ||
	{ echo "vm: --init systemd needs systemd installed on the host (/lib/systemd/systemd)" >&2; exit 2; }
for e in "${envs[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "vm: --env wants NAME=VALUE, got $e" >&2; exit 2; }
done
for m in "${modules[@]}"; do
	[[ $m =~ ^[A-Za-z0-9_-]+$ ]] || { echo "vm: --modules wants module names separated by commas, got '$m'" >&2; exit 2; }
done

[ "$(id -u)" -eq 0 ] || die "must run as root (qemu exports the host's / and reads /boot)"

# The guest mounts fresh filesystems over these, hiding the host's contents.
cwd=$(cd "$workdir" 2>/dev/null && pwd -P) || die "no directory $workdir"
# A work tree under /tmp or /run (CI may clone there) is shared on its own
# and mounted at the same path over the guest's fresh /tmp or /run.
worktree=
case $cwd/ in
/proc/* | /sys/* | /dev/*)
	die "the working directory $cwd is hidden in the guest (it gets its own /proc, /sys, /dev); run from elsewhere" ;;
/tmp/* | /run/*)
	worktree=$(git -C "$cwd" rev-parse --show-toplevel 2>/dev/null) || worktree=$cwd ;;
esac

# CI starts from a fresh machine, so install what is missing.
newest_kernel() {
	local k v best=
	for k in /boot/vmlinuz-*; do
		v=${k#/boot/vmlinuz-}
		if [ ! -f "$k" ] || [ ! -d "/lib/modules/$v/kernel" ]; then continue; fi
		best=$(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -1)
	done
	echo "$best"
}
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -n "$(newest_kernel)" ] || missing+=(linux-image-amd64)
dpkg-query -W -f='${Status}\n' busybox-static 2>/dev/null | grep -q '^install ok installed$' ||
	missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	echo "vm: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi
kver=$(newest_kernel)
[ -n "$kver" ] || die "no kernel in /boot with modules in /lib/modules"
kernel=/boot/vmlinuz-$kver

# Rebuild the cached boot files when anything that goes into them changes
# (Debian ships updated kernels under the same version string).
mkdir -p "$cache"
key=$(cat "$kernel" "$here/mkvmlinux.sh" | sha256sum | cut -c1-16)
vmlinux=$cache/vmlinux-$kver-$key
if [ ! -f "$vmlinux" ] && [ ! -f "$vmlinux.none" ]; then
	echo "vm: extracting $vmlinux" >&2
	"$here/mkvmlinux.sh" "$kernel" "/boot/config-$kver" "$vmlinux" || : >"$vmlinux.none"
fi
[ ! -f "$vmlinux" ] || kernel=$vmlinux
key=$(cat "$here/init" "$here/mkinitramfs.sh" /bin/busybox "/lib/modules/$kver/modules.dep" |
	sha256sum | cut -c1-16)
initrd=$cache/initramfs-$kver-$key.cpio
if [ ! -f "$initrd" ]; then
	echo "vm: building $initrd" >&2
	"$here/mkinitramfs.sh" "$kver" "$initrd" || die "building the initramfs failed"
fi
# Old versions (and runs killed with -9) go once surely no run still uses them.
find "$cache" -maxdepth 1 \( -name 'initramfs-*' -o -name 'vmlinux-*' -o -name 'run.*' \) \
	! -name "${initrd##*/}" ! -name "${vmlinux##*/}*" -mmin +1440 -exec rm -rf {} + 2>/dev/null || true

qpid=
watchdog=
run=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[ -z "$watchdog" ] || kill -TERM "$watchdog" 2>/dev/null || true
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		# timeout(1) passes TERM on to qemu; if qemu lingers, kill it directly.
		kill -TERM "$qpid" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$qpid" 2>/dev/null || break
			sleep 0.3
		done
		pkill -KILL -P "$qpid" 2>/dev/null || true
		kill -KILL "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	[ -z "$run" ] || rm -rf "$run"
}
trap cleanup EXIT
trap 'echo "vm: interrupted, stopping the VM" >&2; exit 130' INT TERM

# The read-write share: the command script in, status and results out.
run=$(mktemp -d "$cache/run.XXXXXX")
mkdir "$run/out"
{
	echo 'export VM_OUT=/run/vm/out'
	for e in "${envs[@]}"; do
		printf 'export %q\n' "$e"
	done
	if [ ${#modules[@]} -gt 0 ]; then
		printf 'modprobe -a -- %s || { echo "vm: modprobe failed: %s"; exit 125; }\n' "${modules[*]}" "${modules[*]}"
	fi
	if [ -n "$worktree" ]; then
		printf 'mkdir -p -- %q && mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 worktree %q || exit 125\n' "$worktree" "$worktree"
	fi
	printf 'cd -- %q || exit 125\n' "$cwd"
	echo 'rc=0'
	several=
	for a in "$@"; do [ "$a" != --- ] || several=1; done
	cmd=()
	for a in "$@" ---; do
		if [ "$a" != --- ]; then
			cmd+=("$a")
			continue
		fi
		[ ${#cmd[@]} -gt 0 ] || { echo "vm: empty command between ---" >&2; exit 2; }
		line=$(printf '%q ' "${cmd[@]}")
		[ -z "$several" ] || printf 'echo %q\n' "=== vm: $line"
		printf '%s\n' "$line"
		# shellcheck disable=SC2016 # expanded in the guest
		echo 's=$?; [ "$rc" -ne 0 ] || rc=$s'
		cmd=()
	done
	# shellcheck disable=SC2016 # expanded in the guest
	echo 'exit "$rc"'
} >"$run/cmd"

append="console=ttyS0 panic=-1 hugepages=16 mitigations=off"
# Evidence for a stalled run: the kernel reports tasks blocked for 30 s, and
# the timeout's sysrq keys (below) are allowed.
append+=" sysctl.kernel.hung_task_timeout_secs=30 sysctl.kernel.sysrq=1"
# init reads ocirt.cgroup to choose the layout it mounts; under systemd,
# systemd mounts the cgroups (hybrid: v1 controllers plus an empty cgroup2
# at /sys/fs/cgroup/unified, like the development hosts).
if [ "$init_mode" = systemd ]; then
	append+=" ocirt.init=systemd"
	if [ "$cgroup_mode" = v1 ]; then
		append+=" systemd.unified_cgroup_hierarchy=0"
	else
		append+=" cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
	fi
elif [ "$cgroup_mode" = v1 ]; then
	append+=" ocirt.cgroup=v1"
else
	append+=" cgroup_no_v1=all"
fi
# Without a preset loops-per-jiffy the emulated second CPU spends about 1.5 s
# calibrating its delay loop. udelay counts TSC cycles, and TCG's TSC runs at
# the host's rate, so the host's clock gives the right value.
hz=$(sed -n 's/^CONFIG_HZ=//p' "/boot/config-$kver" 2>/dev/null)
mhz=$(awk -F': *' '/^cpu MHz/ { print int($2 + 1); exit }' /proc/cpuinfo)
[ -z "$hz" ] || [ -z "$mhz" ] || append+=" lpj=$((mhz * 1000000 / hz))"
[ -n "$verbose" ] || append+=" quiet"
append+=${kargs:+ $kargs}
# shellcheck disable=SC2054 # the commas belong to qemu's option syntax
qemu=(
	qemu-system-x86_64
	-accel tcg,thread=multi -cpu max -m "$mem" -smp "$cpus"
	-nodefaults -no-user-config -display none -no-reboot -nic none
	-monitor "pipe:$run/monitor"
	-serial "file:$run/console.log" -serial stdio
	-kernel "$kernel" -initrd "$initrd" -append "$append"
	-virtfs local,path=/,mount_tag=host0,security_model=passthrough,readonly=on,multidevs=remap
	-virtfs "local,path=$run,mount_tag=vmshare,security_model=passthrough,multidevs=remap"
)
[ -z "$worktree" ] ||
	qemu+=(-virtfs "local,path=$worktree,mount_tag=worktree,security_model=passthrough,readonly=on,multidevs=remap")
[ -z "$verbose" ] || echo "vm: ${qemu[*]}" >&2

# The human monitor, through which the timeout presses the guest's keys.
mkfifo "$run/monitor.in" "$run/monitor.out"
# Seconds the guest gets, once the timeout struck, to log its state.
dump_s=8

# watch_timeout: at the timeout, has the guest's kernel log every blocked task
# and every task's stack (sysrq w and t through the emulated keyboard, console
# log level raised so they reach the console too), then stops qemu.
watch_timeout() {
	local s
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	sleep "$timeout_s" &
	s=$!
	wait "$s"
	: >"$run/timed-out"
	echo "vm: timeout after ${timeout_s}s: dumping the guest's tasks, then stopping it" >&2
	# Opened read-write: never blocks, even if qemu is gone.
	exec 3<>"$run/monitor.in"
	for key in 9 w t; do
		echo "sendkey alt-sysrq-$key" >&3
		sleep 1
	done
	sleep "$dump_s" &
	s=$!
	wait "$s"
	kill -TERM "$qpid" 2>/dev/null
}

start=${EPOCHREALTIME/./}
# No stdin: qemu must not put a terminal into raw mode or wait for input.
# timeout(1) is the backstop should the watchdog fail to stop qemu.
timeout --kill-after=5 $((timeout_s + dump_s + 20)) "${qemu[@]}" </dev/null &
qpid=$!
watch_timeout &
watchdog=$!
qrc=0
wait "$qpid" || qrc=$?
qpid=
kill -TERM "$watchdog" 2>/dev/null || true
wait "$watchdog" 2>/dev/null || true
watchdog=
us=$((${EPOCHREALTIME/./} - start))
wall=$(printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)))

# The guest streams its kernel log (/dev/kmsg records) into the share as it
# goes, so it is there even when the guest never got to save its dmesg.
kmsg_to_dmesg() {
	awk '/^ / { next }
	{
		i = index($0, ";"); split(substr($0, 1, i - 1), h, ",")
		printf "[%5d.%06d] %s\n", h[3] / 1000000, h[3] % 1000000, substr($0, i + 1)
	}' "$run/kmsg"
}
[ -s "$run/dmesg" ] || [ ! -s "$run/kmsg" ] || kmsg_to_dmesg >"$run/dmesg"

# Whatever the outcome, keep what the guest left for the caller.
if [ -n "$outdir" ]; then
	mkdir -p "$outdir"
	cp -a "$run/out/." "$outdir/"
	cp "$run/console.log" "$outdir/vm-console.txt" 2>/dev/null || true
	cp "$run/dmesg" "$outdir/vm-dmesg.txt" 2>/dev/null || true
	cp "$run/journal" "$outdir/vm-journal.txt" 2>/dev/null || true
fi

show_console() {
	echo "vm: ---- kernel console (${1:-all}) ----" >&2
	if [ -n "${1:-}" ]; then
		# What led up to a timeout, not the task dumps that followed it.
		awk '/sysrq: (Changing Loglevel|Show)/ { exit } { print }' "$run/console.log" | tail -n "$1" >&2
	else
		cat "$run/console.log" >&2
	fi
	echo "vm: ---- end of kernel console ----" >&2
}
# show_blocked: the kernel's reports of blocked tasks (hung-task warnings and
# sysrq w), which say where a stalled run is stuck.
show_blocked() {
	local blocked
	[ -s "$run/dmesg" ] || return 0
	blocked=$(awk '/blocked for more than|Show Blocked State/ { n = 40 }
		/sysrq: Show State/ { n = 0 }
		n > 0 { print; n--; if (++total >= 300) exit }' "$run/dmesg")
	[ -n "$blocked" ] || return 0
	echo "vm: ---- blocked tasks in the guest's kernel log ----" >&2
	echo "$blocked" >&2
	echo "vm: ---- end of blocked tasks${outdir:+; the whole log is in $outdir/vm-dmesg.txt} ----" >&2
}
# 124 or 137: timeout(1), the backstop, struck.
if [ -e "$run/timed-out" ] || [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	show_console 40
	show_blocked
	echo "vm: timed out after ${timeout_s}s; qemu killed" >&2
	exit 124
fi
if [ ! -s "$run/status" ]; then
	show_console 40
	die "the guest ended without reporting the command's status (qemu exit status $qrc)"
fi
[ -z "$verbose" ] || show_console
status=$(cat "$run/status")
ready=$(cat "$run/ready-uptime" 2>/dev/null || echo '?')
echo "vm: exit status $status; guest ready ${ready}s after kernel start; ${wall}s wall in total" >&2
exit "$status"
