package nsenter

import "testing"

func TestParseExitReport(t *testing.T) {
	for name, want := range map[string]Message{
		"started 4194304": {Header: Header{Kind: KindPid}, Pid: 4194304},
		"failed 3 2":      {Header: Header{Kind: KindSpawnError}, Step: SpawnStepExec, Errno: 2},
	} {
		got, err := ParseExitReport(name)
		if err != nil || *got != want {
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

func TestParseHookReport(t *testing.T) {
	f, ok := ParseHookReport("hook 1 1 768\nbroke\nhere")
	if want := (HookFailure{Index: 1, How: HookExited, Value: 768, Stderr: "broke\nhere"}); !ok || *f != want {
		t.Errorf("%+v, %v; want %+v", f, ok, want)
	}
	// What the Go init writes into the fifo is an error in words.
	for _, msg := range []string{"startContainer hook #0 (/bin/sh): exit status 1", "hook 1 1 768", "failed 3 2", "hook -1 1 0\n", ""} {
		if f, ok := ParseHookReport(msg); ok {
			t.Errorf("%q read as a hook report: %+v", msg, f)
		}
	}
}
