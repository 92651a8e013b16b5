package nsenter

import (
	"reflect"
	"testing"
)

func TestParseExitReport(t *testing.T) {
	for name, want := range map[string]Message{
		"started 4194304": {Header: Header{Kind: KindPid}, Pid: 4194304},
		"failed 3 2":      {Header: Header{Kind: KindSpawnError}, Step: SpawnStepExec, Errno: 2},
	} {
		got, err := ParseExitReport(name)
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("%q: %+v, %v; want %+v", name, got, err, want)
		}
	}
	// An init killed before it spawned still has its own name.
	for _, name := range []string{"oci-rt", "3", "started 0", "started -1", ""} {
		if got, err := ParseExitReport(name); err == nil {
			t.Errorf("%q read as a report: %+v", name, got)
		}
	}
}
