#!/bin/bash
# Extract the uncompressed kernel (vmlinux) from a bzImage.
#
# Under software emulation the bzImage spends about 4.5 s decompressing itself
# before the kernel prints a line; qemu boots the ELF directly through its PVH
# entry point instead, so decompressing once on the host saves that on every
# boot. Fails (and run.sh falls back to the bzImage) when the kernel has no
# PVH entry point or the payload is in a format we cannot unpack.
#
# Usage: mkvmlinux.sh VMLINUZ CONFIG OUTPUT
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 VMLINUZ CONFIG OUTPUT" >&2
	exit 2
fi
vmlinuz=$1
config=$2
out=$3

if ! grep -qx 'CONFIG_PVH=y' "$config" 2>/dev/null; then
	echo "mkvmlinux: $config does not say CONFIG_PVH=y; qemu cannot boot the plain vmlinux" >&2
	exit 1
fi

# The payload follows the setup code; find it by its format's magic bytes.
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
for fmt in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
	name=${fmt%%:*}
	command -v "$name" >/dev/null || continue
	for off in $(LC_ALL=C grep -obUaP "${fmt#*:}" "$vmlinuz" | cut -d: -f1 | head -5); do
		case $name in
		xz) tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream >"$tmp" 2>/dev/null || true ;;
		zstd) tail -c +$((off + 1)) "$vmlinuz" | zstd -qdc >"$tmp" 2>/dev/null || true ;;
		gzip) tail -c +$((off + 1)) "$vmlinuz" | gzip -dc >"$tmp" 2>/dev/null || true ;;
		esac
		if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
			mv -f "$tmp" "$out"
			exit 0
		fi
	done
done
echo "mkvmlinux: found no ELF kernel inside $vmlinuz" >&2
exit 1
