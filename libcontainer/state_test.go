package libcontainer

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStoreCreateIsExclusive(t *testing.T) {
	store, err := OpenStore(filepath.Join(t.TempDir(), "root"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(store.Root); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("root dir mode %v, %v; want 0700", st.Mode(), err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := store.Create("one")
			if err == nil {
				wins.Add(1)
				l.Unlock()
				return
			}
			if !strings.Contains(err.Error(), "already exists") {
				t.Errorf("losing create: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d creates of one ID succeeded, want exactly 1", wins.Load())
	}
}

func TestStoreLockSerialisesAndSeesDeletion(t *testing.T) {
	store, _ := OpenStore(t.TempDir())
	l, err := store.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l2, err := store.Lock("c")
		if err == nil {
			l2.Unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second lock did not wait for the first: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	// The holder deletes the container; the waiter must learn it is gone.
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "container does not exist") {
		t.Fatalf("waiter got %v, want does not exist", err)
	}
	if _, err := store.Lock("missing"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("lock of a missing ID: %v", err)
	}
}

// Remove deletes the directory with whatever a container left in it:
// its files, a fifo, and a directory (which no container makes, but
// which must not keep the state directory alive).
func TestStoreRemoveTakesEverything(t *testing.T) {
	store, _ := OpenStore(t.TempDir())
	for _, stray := range []bool{false, true} {
		l, err := store.Create("c")
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Save(&State{ID: "c"}); err != nil {
			t.Fatal(err)
		}
		dir := l.Dir()
		if err := unix.Mkfifo(filepath.Join(dir, fifoName), 0o600); err != nil {
			t.Fatal(err)
		}
		if stray {
			if err := os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Remove(); err != nil {
			t.Fatalf("Remove (a directory inside: %v): %v", stray, err)
		}
		if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("after Remove (a directory inside: %v) the state directory is still there: %v", stray, err)
		}
	}
}

func TestStoreSaveIsAtomicAndListSkipsIncomplete(t *testing.T) {
	store, _ := OpenStore(t.TempDir())
	for _, id := range []string{"b", "a", "half"} {
		l, err := store.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Save(&State{ID: id, Complete: id != "half"}); err != nil {
			t.Fatal(err)
		}
		l.Unlock()
	}
	// A directory with no state at all (runtime killed before its first
	// write) is skipped too.
	if err := os.Mkdir(filepath.Join(store.Root, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	ids, err := store.List()
	if err != nil || strings.Join(ids, ",") != "a,b" {
		t.Fatalf("List = %v, %v; want a,b", ids, err)
	}
	entries, _ := os.ReadDir(filepath.Join(store.Root, "a"))
	if len(entries) != 1 || entries[0].Name() != stateFile {
		t.Fatalf("state dir holds %v: a temporary file was left behind", entries)
	}
	st, err := store.Load("a")
	if err != nil || st.ID != "a" || !st.Complete {
		t.Fatalf("Load = %+v, %v", st, err)
	}
	if _, err := store.Load("nope"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Load of a missing ID: %v", err)
	}
}

// A save cut short by a crash leaves its temporary file; the next save
// reuses it: nothing of the old content or mode may reach the state.
func TestSaveOverCrashedSavesTemporaryFile(t *testing.T) {
	store, _ := OpenStore(t.TempDir())
	l, err := store.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(store.Root, "c", "."+stateFile+".tmp")
	stale := `{"id":"c","initPid":12345,"bundle":"` + strings.Repeat("x", 4096) + `"}`
	if err := os.WriteFile(tmp, []byte(stale), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(&State{ID: "c", InitPid: 7}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(store.Root, "c"))
	if len(entries) != 1 || entries[0].Name() != stateFile {
		t.Fatalf("state dir holds %v, want only %s", entries, stateFile)
	}
	if fi, err := os.Stat(filepath.Join(store.Root, "c", stateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v; want 0600", fi.Mode(), err)
	}
	if st, err := store.Load("c"); err != nil || st.InitPid != 7 || st.Bundle != "" {
		t.Fatalf("Load = %+v, %v; want the saved state only", st, err)
	}
	l.Unlock()
	if err := l.Save(&State{ID: "c"}); err == nil || !strings.Contains(err.Error(), "lock was released") {
		t.Fatalf("Save after Unlock: %v, want an error", err)
	}
}

// A save over a saved state rewrites its file: one file serves every
// save, the directory holds nothing else, and a shorter state after a
// longer one reads back whole.
func TestSavesRewriteOneFile(t *testing.T) {
	store, _ := OpenStore(t.TempDir())
	l, err := store.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	dir := filepath.Join(store.Root, "c")
	inodes := map[uint64]bool{}
	for i, bundle := range []string{"/short", "/a/much/longer/bundle/path", "", "/mid/path"} {
		if err := l.Save(&State{ID: "c", InitPid: i, Bundle: bundle}); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 || entries[0].Name() != stateFile {
			t.Fatalf("after save %d the state dir holds %v, want only %s", i, entries, stateFile)
		}
		if st, err := store.Load("c"); err != nil || st.InitPid != i || st.Bundle != bundle {
			t.Fatalf("Load after save %d = %+v, %v", i, st, err)
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(dir, stateFile), &st); err != nil || st.Mode&0o777 != 0o600 {
			t.Fatalf("state file mode %o, %v; want 0600", st.Mode&0o777, err)
		}
		inodes[st.Ino] = true
	}
	if len(inodes) != 1 {
		t.Errorf("four saves used %d files, want 1", len(inodes))
	}
}

// A state larger than a page cannot be rewritten by one uninterruptible
// write: such saves replace the file, and the state reads back whole.
func TestSavesReplaceAStateLargerThanAPage(t *testing.T) {
	store, _ := OpenStore(t.TempDir())
	l, err := store.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	path := filepath.Join(store.Root, "c", stateFile)
	big := strings.Repeat("b", os.Getpagesize())
	// Whether each save made a new file: the big state and the save
	// after it (over a file larger than a page) do, the last rewrites.
	want := []bool{true, true, true, false}
	var last uint64
	for i, bundle := range []string{"/small", big, "/small-again", "/small"} {
		if err := l.Save(&State{ID: "c", InitPid: i, Bundle: bundle}); err != nil {
			t.Fatal(err)
		}
		if st, err := store.Load("c"); err != nil || st.Bundle != bundle {
			t.Fatalf("Load after save %d = %v", i, err)
		}
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		if made := st.Ino != last; made != want[i] {
			t.Errorf("save %d made a new file: %v, want %v", i, made, want[i])
		}
		last = st.Ino
	}
}

// A reader may hold the state file it opened while saves go on: the file
// it holds is never rewritten under it, and the saves go on in new files.
func TestSaveLeavesAFileInUseAlone(t *testing.T) {
	store, _ := OpenStore(t.TempDir())
	l, err := store.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := l.Save(&State{ID: "c", InitPid: 1}); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(filepath.Join(store.Root, "c", stateFile))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for pid := 2; pid <= 4; pid++ {
		if err := l.Save(&State{ID: "c", InitPid: pid}); err != nil {
			t.Fatal(err)
		}
		if st, err := store.Load("c"); err != nil || st.InitPid != pid {
			t.Fatalf("Load after save %d = %+v, %v", pid, st, err)
		}
	}
	data, err := io.ReadAll(held)
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil || st.InitPid != 1 {
		t.Fatalf("the file a reader held reads %q (%v), want the state of the first save", data, err)
	}
}

// Readers racing saves see one whole state or another, never a part or a
// mix: saves that rewrite the file in place (small states) and saves that
// replace it (a state larger than a page).
func TestConcurrentReadersNeverSeePartialState(t *testing.T) {
	long := "/" + strings.Repeat("long", 200)
	for _, c := range []struct {
		name  string
		saves int
		state func(i int) *State
	}{
		{"rewritten", 2000, func(i int) *State { return &State{ID: "c", InitPid: i, Bundle: []string{long, "/short"}[i%2]} }},
		{"replaced", 50, func(i int) *State {
			return &State{ID: "c", InitPid: i, Annotations: map[string]string{"k": strings.Repeat("x", 1<<20)}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			store, _ := OpenStore(t.TempDir())
			l, err := store.Create("c")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if err := l.Save(c.state(0)); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 1; i <= c.saves; i++ {
					if err := l.Save(c.state(i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			for {
				select {
				case <-done:
					return
				default:
				}
				st, err := store.Load("c")
				if err != nil {
					t.Fatalf("reader saw a partial state: %v", err)
				}
				if want := c.state(st.InitPid); st.Bundle != want.Bundle || len(st.Annotations["k"]) != len(want.Annotations["k"]) {
					t.Fatalf("reader saw save %d with the content of another", st.InitPid)
				}
			}
		})
	}
}

func TestProcStatParsesHostileCommandNames(t *testing.T) {
	// A command name may hold spaces and parentheses: fields must be
	// counted from the last ')'.
	link := filepath.Join(t.TempDir(), "a) R (b")
	if err := os.Symlink("/bin/sleep", link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// A misparse reads the 'R' inside the name. The real state is 'R'
	// too until sleep gets to sleep, which on a loaded machine can take a
	// while: poll for 'S' with a generous bound.
	var start uint64
	var state byte
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		start, state, err = procStat(cmd.Process.Pid)
		if err == nil && state == 'S' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("procStat = %d %q %v; want a sleeping process", start, state, err)
		}
	}
	self, _, _ := procStat(os.Getpid())
	if start < self {
		t.Fatalf("child start time %d before the test's own %d: fields misparsed", start, self)
	}
	if _, _, err := procStat(1 << 30); err == nil {
		t.Fatal("procStat of a pid that cannot exist succeeded")
	}
}

func TestStoreRefusesWhatOthersCanWrite(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	store, err := OpenStore(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := store.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Save(&State{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if _, err := store.Load("c"); err != nil {
		t.Fatalf("Load of a state only we can write: %v", err)
	}

	refused := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !errors.Is(err, errUntrusted) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a refusal saying %q", what, err, want)
		}
	}
	stateFile := filepath.Join(root, "c", stateFile)
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{{root, 0o777}, {filepath.Join(root, "c"), 0o770}, {stateFile, 0o620}} {
		orig, _ := os.Stat(tc.path)
		if err := os.Chmod(tc.path, tc.mode); err != nil {
			t.Fatal(err)
		}
		if tc.path == root {
			_, err = OpenStore(root)
		} else {
			_, err = store.Load("c")
		}
		refused(tc.path, err, "writable by group or others")
		if err := os.Chmod(tc.path, orig.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}

	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	_, err = OpenStore(link)
	refused("symlinked root", err, "symlink")
	if err := os.Rename(stateFile, stateFile+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(stateFile+".real", stateFile); err != nil {
		t.Fatal(err)
	}
	_, err = store.Load("c")
	refused("symlinked state file", err, "symlink")
}
