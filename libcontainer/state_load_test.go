package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// encoding/json's error for a number of the wrong type quotes the number,
// which may be thousands of digits long.
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
