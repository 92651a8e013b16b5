package openat2

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// failing returns an open that answers err the first n times, then fd 7.
func failing(n int, err error) (open func() (int, error), calls *int) {
	calls = new(int)
	return func() (int, error) {
		*calls++
		if *calls <= n {
			return -1, err
		}
		return 7, nil
	}, calls
}

func TestRetryAgainRetriesEAGAIN(t *testing.T) {
	open, calls := failing(maxAttempts-1, unix.EAGAIN)
	fd, err := retryAgain(open)
	if err != nil || fd != 7 || *calls != maxAttempts {
		t.Fatalf("got fd %d, err %v after %d calls; want fd 7 after %d calls", fd, err, *calls, maxAttempts)
	}
}

func TestRetryAgainGivesUpAfterTheBound(t *testing.T) {
	open, calls := failing(maxAttempts+10, unix.EAGAIN)
	fd, err := retryAgain(open)
	if !errors.Is(err, unix.EAGAIN) || fd != -1 || *calls != maxAttempts {
		t.Fatalf("got fd %d, err %v after %d calls; want EAGAIN after exactly %d calls", fd, err, *calls, maxAttempts)
	}
}

func TestRetryAgainReturnsOtherErrorsAtOnce(t *testing.T) {
	for _, want := range []error{unix.ENOENT, unix.ELOOP, unix.EXDEV} {
		open, calls := failing(1, want)
		if _, err := retryAgain(open); !errors.Is(err, want) || *calls != 1 {
			t.Errorf("%v: got %v after %d calls, want it returned after one call", want, err, *calls)
		}
	}
}

// TestOpenResolvesInRoot: Open is a real openat2; ".." stops at the root.
func TestOpenResolvesInRoot(t *testing.T) {
	root, err := unix.Open(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	fd, err := Open(root, "../../..", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var got, want unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(root, &want); err != nil {
		t.Fatal(err)
	}
	if got.Dev != want.Dev || got.Ino != want.Ino {
		t.Fatal("../../.. inside the root did not stay at the root")
	}
}
