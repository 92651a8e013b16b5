package main

import (
	"strings"
	"testing"
)

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\toci-rt\nVmPeak:\t 1254652 kB\nVmHWM:\t    8364 kB\nVmRSS:\t    8100 kB\n" +
		"RssAnon:\t    1052 kB\nRssFile:\t    7048 kB\nRssShmem:\t       0 kB\nThreads:\t5\n"
	got, err := parseStatusMemory(status, 42)
	if err != nil {
		t.Fatal(err)
	}
	if want := (memPeak{hwm: 8364, anon: 1052}); got != want {
		t.Errorf("parseStatusMemory = %+v, want %+v", got, want)
	}
	for _, tc := range []struct{ name, status, want string }{
		{"no RssAnon", "VmHWM:\t 8364 kB\n", "no VmHWM and RssAnon in /proc/42/status"},
		{"no VmHWM", "RssAnon:\t 1052 kB\n", "no VmHWM and RssAnon in /proc/42/status"},
		{"a value that is not a number", "VmHWM:\t many kB\nRssAnon:\t 1 kB\n", "/proc/42/status: VmHWM: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStatusMemory(tc.status, 42)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseStatusMemory(%q) = %v, want an error with %q", tc.status, err, tc.want)
			}
		})
	}
}
