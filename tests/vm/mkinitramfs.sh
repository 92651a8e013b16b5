#!/bin/bash
# Build the guest's initramfs: a static busybox, the guest init and just the
# modules needed to mount the host's / over 9p. Everything else the guest
# needs (including further modules) comes from the host through that share.
#
# Usage: mkinitramfs.sh KERNEL_VERSION OUTPUT
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 KERNEL_VERSION OUTPUT" >&2
	exit 2
fi
kver=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
moddir=/lib/modules/$kver

# Dependencies first: insmod (unlike modprobe) does not resolve them.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p overlay"

if [ ! -d "$moddir" ]; then
	echo "mkinitramfs: no module directory $moddir for kernel $kver" >&2
	exit 1
fi
busybox=/bin/busybox
if ! "$busybox" true; then
	echo "mkinitramfs: $busybox does not run (install busybox-static)" >&2
	exit 1
fi
# A dynamically linked busybox would need a libc in the initramfs.
if ldd "$busybox" >/dev/null 2>&1; then
	echo "mkinitramfs: $busybox is dynamically linked (install busybox-static)" >&2
	exit 1
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/oci-rt-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$busybox" "$stage/bin/busybox"
# Linking the applets here spares the guest a few hundred file creations.
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
cp "$here/init" "$stage/init"
chmod 0755 "$stage/init"

# busybox insmod cannot read compressed modules, so store them plain.
: >"$stage/lib/modules/load-order"
for m in $modules; do
	rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n); gsub(/-/, "_", n); if (n == m) { print $1; exit } }' "$moddir/modules.dep")
	if [ -z "$rel" ]; then
		if grep -q "/$m.ko" "$moddir/modules.builtin" 2>/dev/null; then
			continue # built into this kernel
		fi
		echo "mkinitramfs: module $m not found in $moddir/modules.dep" >&2
		exit 1
	fi
	src=$moddir/$rel
	dst=$stage/lib/modules/$m.ko
	case $src in
	*.ko.xz) xz -dc "$src" >"$dst" 2>/dev/null || "$busybox" xzcat "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac
	echo "$m" >>"$stage/lib/modules/load-order"
done

# Uncompressed: unpacking a few MiB is faster under emulation than gunzip.
tmp=$out.tmp.$$
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) >"$tmp"
mv -f "$tmp" "$out"
