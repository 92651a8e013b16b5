// Package openat2 is the one way oci-rt calls openat2(2): the kernel may
// fail a lookup with EAGAIN for reasons that have nothing to do with the
// path, and every caller must retry alike.
package openat2

import (
	"errors"

	"golang.org/x/sys/unix"
)

// maxAttempts bounds the retries. A scoped lookup (RESOLVE_IN_ROOT or
// RESOLVE_BENEATH) that crosses ".." fails with EAGAIN whenever any rename
// or mount happens anywhere on the host meanwhile, since the kernel cannot
// then prove that ".." stayed inside the root. A lookup takes
// microseconds, so even a host renaming in a tight loop lets one of these
// attempts through; a bound still keeps a pathological host from spinning
// us forever.
const maxAttempts = 128

// Open is unix.Openat2, retried while the kernel answers EAGAIN. The
// caller's flags must not include RESOLVE_CACHED, whose EAGAIN means "not
// in the cache" and would never clear.
func Open(dirfd int, path string, how *unix.OpenHow) (int, error) {
	return retryAgain(func() (int, error) { return unix.Openat2(dirfd, path, how) })
}

func retryAgain(open func() (int, error)) (int, error) {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var fd int
		if fd, err = open(); !errors.Is(err, unix.EAGAIN) {
			return fd, err
		}
	}
	return -1, err
}
