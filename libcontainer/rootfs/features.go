package rootfs

import "sort"

// KnownMountOptions lists the mount options this package acts on itself,
// for `oci-rt features`; other words are passed to the filesystem.
func KnownMountOptions() []string {
	var names []string
	add := func(name string) {
		names = append(names, name, "r"+name)
	}
	for name := range mountAttrOptions {
		add(name)
	}
	for name := range atimeOptions {
		add(name)
	}
	for name := range superblockOptions {
		names = append(names, name)
	}
	for name := range propagationOptions {
		names = append(names, name)
	}
	names = append(names, legacyFlagOptions...)
	names = append(names, "defaults", "bind", "rbind", "remount", "idmap", "ridmap", "tmpcopyup")
	sort.Strings(names)
	return names
}
