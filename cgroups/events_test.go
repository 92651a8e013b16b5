package cgroups

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pipeWatcher is an OOMWatcher whose Fd is the read end of a pipe: a byte
// written to the other end is one OOM event. With fd -1 it has nothing to
// poll, and pending alone decides what Rose reports.
type pipeWatcher struct {
	fd      int
	pending atomic.Bool
	closed  atomic.Bool
}

func (w *pipeWatcher) WatchOOM() (OOMWatcher, error) { return w, nil }
func (w *pipeWatcher) Fd() int                       { return w.fd }
func (w *pipeWatcher) Close()                        { w.closed.Store(true) }

func (w *pipeWatcher) Rose() (bool, error) {
	rose := w.pending.Swap(false)
	if w.fd >= 0 {
		var b [16]byte
		n, _ := unix.Read(w.fd, b[:])
		rose = rose || n > 0
	}
	return rose, nil
}

// testPipe returns a non-blocking pipe, closed at the end of the test.
func testPipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// poke makes the read end of the pipe written to by fd readable.
func poke(t *testing.T, fd int) {
	t.Helper()
	if _, err := unix.Write(fd, []byte{1}); err != nil {
		t.Fatal(err)
	}
}

// watch runs WatchEvents in the background; events arrive on the channel
// ("stats", "oom") and its result on the other.
func watch(t *testing.T, src OOMSource, ended int, interval time.Duration) (<-chan string, <-chan error) {
	t.Helper()
	events, done := make(chan string, 16), make(chan error, 1)
	emit := func(what string) func() error {
		return func() error { events <- what; return nil }
	}
	go func() { done <- WatchEvents(src, ended, interval, emit("stats"), emit("oom")) }()
	return events, done
}

// next waits for what the loop does next; the bound only keeps a broken
// loop from hanging the test run.
func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

func TestWatchEventsOOMThenEnd(t *testing.T) {
	oomR, oomW := testPipe(t)
	endR, endW := testPipe(t)
	w := &pipeWatcher{fd: oomR}
	events, done := watch(t, w, endR, time.Hour)
	poke(t, oomW)
	if got := next(t, events, "event"); got != "oom" {
		t.Fatalf("got %q, want oom", got)
	}
	poke(t, endW)
	if err := next(t, done, "return"); err != nil {
		t.Fatal(err)
	}
	// One OOM, reported once: the end does not repeat it.
	if len(events) != 0 {
		t.Errorf("extra events after the end: %q", <-events)
	}
	if !w.closed.Load() {
		t.Error("the OOM watcher was not closed")
	}
}

// An OOM kill that ends the container is reported even when its
// notification has not been polled yet (here: a watcher without an fd).
func TestWatchEventsOOMAtEnd(t *testing.T) {
	endR, endW := testPipe(t)
	w := &pipeWatcher{fd: -1}
	w.pending.Store(true)
	events, done := watch(t, w, endR, time.Hour)
	poke(t, endW)
	if err := next(t, done, "return"); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || <-events != "oom" {
		t.Error("the OOM that ended the container was not reported")
	}
}

func TestWatchEventsStatsEveryInterval(t *testing.T) {
	endR, endW := testPipe(t)
	events, done := watch(t, &pipeWatcher{fd: -1}, endR, time.Millisecond)
	for range 3 {
		if got := next(t, events, "stats"); got != "stats" {
			t.Fatalf("got %q, want stats", got)
		}
	}
	poke(t, endW)
	if err := next(t, done, "return"); err != nil {
		t.Fatal(err)
	}
}

func TestWatchEventsErrors(t *testing.T) {
	endR, _ := testPipe(t)
	failed := errors.New("stdout closed")
	err := WatchEvents(&pipeWatcher{fd: -1}, endR, time.Millisecond, func() error { return failed }, nil)
	if !errors.Is(err, failed) {
		t.Errorf("a failing stats callback: %v", err)
	}
	oomR, oomW := testPipe(t)
	poke(t, oomW)
	err = WatchEvents(&pipeWatcher{fd: oomR}, endR, time.Hour, nil, func() error { return failed })
	if !errors.Is(err, failed) {
		t.Errorf("a failing OOM callback: %v", err)
	}
	if err := WatchEvents(failingSource{failed}, endR, time.Hour, nil, nil); !errors.Is(err, failed) {
		t.Errorf("no OOM watcher: %v", err)
	}
}

type failingSource struct{ err error }

func (f failingSource) WatchOOM() (OOMWatcher, error) { return nil, f.err }
