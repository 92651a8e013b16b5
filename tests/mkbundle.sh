#!/usr/bin/env bash
# mkbundle.sh DIR: a bundle whose rootfs is Debian's busybox-static with
# its applets linked in /bin, and a default config from `oci-rt spec`.
set -euo pipefail
dir=${1:?usage: mkbundle.sh DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir/rootfs"/{bin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/rootfs/etc/passwd"
echo 'root:x:0:' > "$dir/rootfs/etc/group"
rm -f "$dir/config.json"
"$here/oci-rt" spec --bundle "$dir"
