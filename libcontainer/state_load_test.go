package libcontainer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// maxLoadErrorLength bounds Store.Load's errors in FuzzStoreLoad: they
// reach `list`, `state` and `delete` users, and corrupt state must not
// flood them.
const maxLoadErrorLength = 512

// FuzzStoreLoad feeds arbitrary bytes as a container's state.json. Load
// must not panic; it returns a one-line error of bounded length, or a
// state that Save can write back and Load read again unchanged, so that a
// command that loads a state and saves it keeps what it found.
func FuzzStoreLoad(f *testing.F) {
	const id = "fuzz"
	store := &Store{Root: f.TempDir()}
	if err := os.Mkdir(store.dir(id), 0o700); err != nil {
		f.Fatal(err)
	}
	lock, err := store.Lock(id)
	if err != nil {
		f.Fatal(err)
	}
	defer lock.Unlock()
	path := filepath.Join(store.dir(id), stateFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := store.Load(id)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || len(msg) > maxLoadErrorLength {
				t.Fatalf("error is not one bounded line (%d bytes): %.300q", len(msg), msg)
			}
			return
		}
		if err := lock.Save(st); err != nil {
			t.Fatalf("Load accepted a state Save cannot write: %v", err)
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		again, err := store.Load(id)
		if err != nil {
			t.Fatalf("Load refuses what Save wrote: %v\n%s", err, saved)
		}
		if resaved, _ := json.Marshal(again); !bytes.Equal(resaved, saved) {
			t.Fatalf("a state changed on its way through Save and Load:\n%s\n%s", saved, resaved)
		}
	})
}

// The seed testdata/fuzz/FuzzStoreLoad/huge-numbers failed FuzzStoreLoad:
// encoding/json's error quoted the 2000-digit number in full.
func TestLoadCorruptStateSaysWhatIsWrong(t *testing.T) {
	store := &Store{Root: t.TempDir()}
	for _, tc := range []struct {
		state, want string
	}{
		{`{"id":"c","initPid":` + strings.Repeat("9", 2000) + `}`, "state of c is corrupt: field initPid: JSON number does not fit int"},
		{`{"id":"c","complete":"yes"}`, "state of c is corrupt: field complete: JSON string does not fit bool"},
		{`{"id":"c","hostRootfsMount":{"id":-1}}`, "state of c is corrupt: field hostRootfsMount.id: JSON number does not fit uint64"},
		{`{"id":`, "state of c is corrupt: unexpected end of JSON input"},
	} {
		if err := os.MkdirAll(store.dir("c"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(store.dir("c"), stateFile), []byte(tc.state), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := store.Load("c")
		if err == nil || err.Error() != tc.want {
			t.Errorf("Load of %.40q: %v, want %q", tc.state, err, tc.want)
		}
	}
}

// storeWithConfig is a store holding container "c", recorded with config.
func storeWithConfig(t *testing.T, config string) *Store {
	t.Helper()
	store, _ := OpenStore(t.TempDir())
	lock, err := store.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if err := lock.SaveSpec([]byte(config)); err != nil {
		t.Fatal(err)
	}
	if err := lock.Save(&State{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	return store
}

// A foreground run asks the recorded config only whether the process has
// a terminal.
func TestContainerTerminalReadsTheRecordedConfig(t *testing.T) {
	for config, want := range map[string]bool{
		`{"process":{"terminal":true,"args":["sh"]}}`: true,
		`{"process":{"args":["sh"]}}`:                 false,
		`{"ociVersion":"1.0.2"}`:                      false,
	} {
		store := storeWithConfig(t, config)
		c, err := Load(store, "c")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Terminal(); err != nil || got != want {
			t.Errorf("Terminal() of %s = %v, %v; want %v", config, got, err, want)
		}
	}
}

// Once exec has decoded the recorded config, the lifecycle's part of it is
// taken from that decode, not read and decoded again, and it is what
// config decodes from the file, whatever exec then does to the spec.
func TestRecordedPartIsWhatConfigDecodes(t *testing.T) {
	for _, config := range []string{
		`{"process":{"terminal":true,"args":["sh","-c","x"]},"hooks":{"poststop":[{"path":"/bin/true","args":["true"]}]},"linux":{"cgroupsPath":"/a/b"}}`,
		`{"process":{"args":["sleep"]},"linux":{}}`,
		`{"ociVersion":"1.0.2"}`,
	} {
		store := storeWithConfig(t, config)
		fresh, err := Load(store, "c")
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.config()
		if err != nil {
			t.Fatal(err)
		}
		c, err := Load(store, "c")
		if err != nil {
			t.Fatal(err)
		}
		spec, err := c.ProcessSpec()
		if err != nil {
			t.Fatal(err)
		}
		if spec.Process != nil {
			spec.Process.Args = []string{"exec", "args"}
		}
		if err := os.Remove(filepath.Join(store.dir("c"), specFile)); err != nil {
			t.Fatal(err)
		}
		got, err := c.config()
		if err != nil {
			t.Fatalf("config after ProcessSpec read the file again: %v", err)
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("config of %s after ProcessSpec:\n%s\nwant\n%s", config, gotJSON, wantJSON)
		}
	}
}

// Container.Delete uses the config its container read, not the file,
// while the state records that container; once the state records another
// of the same ID (created at another time), the file's config counts.
func TestDeleteKeepsTheConfigOfItsOwnContainer(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "poststop")
	config := `{"hooks":{"poststop":[{"path":"/bin/sh","args":["sh","-c","echo ran >>` + mark + `"]}]}}`
	created := time.Now().UTC()
	for _, recreated := range []bool{false, true} {
		store := storeWithConfig(t, config)
		save := func(at time.Time) {
			lock, err := store.Lock("c")
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Unlock()
			if err := lock.Save(&State{ID: "c", Complete: true, NoCgroup: true, Created: at, CgroupMark: "m"}); err != nil {
				t.Fatal(err)
			}
		}
		save(created)
		c, err := Load(store, "c")
		if err != nil {
			t.Fatal(err)
		}
		c.recorded = &recordedConfig{} // what this container's create knew: no hooks
		if recreated {
			save(created.Add(time.Second))
		}
		if err := c.Delete(true); err != nil {
			t.Fatal(err)
		}
		_, err = os.Stat(mark)
		if ran := err == nil; ran != recreated {
			t.Errorf("recreated %v: the file's poststop hook ran: %v", recreated, ran)
		}
		os.Remove(mark)
	}
}
