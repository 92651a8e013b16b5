package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestPidsStats(t *testing.T) {
	listed := func() ([]int, error) { return []int{7, 8, 9}, nil }
	files := func(m map[string]string) func(string) (string, error) {
		return func(f string) (string, error) {
			if v, ok := m[f]; ok {
				return v, nil
			}
			return "", fmt.Errorf("read %s: %w", f, fs.ErrNotExist)
		}
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  Pids
	}{
		{"limited", map[string]string{"pids.current": "3", "pids.max": "32"}, Pids{Current: 3, Limit: 32}},
		{"unlimited", map[string]string{"pids.current": "3", "pids.max": "max"}, Pids{Current: 3}},
		{"no controller: processes counted", map[string]string{}, Pids{Current: 3}},
	} {
		got, err := PidsStats(files(tc.files), listed)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := PidsStats(files(map[string]string{"pids.current": "3"}), listed); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pids.current without pids.max: %v", err)
	}
	denied := errors.New("denied")
	if _, err := PidsStats(func(string) (string, error) { return "", denied }, listed); !errors.Is(err, denied) {
		t.Errorf("read error: %v", err)
	}
	if _, err := PidsStats(files(nil), func() ([]int, error) { return nil, denied }); !errors.Is(err, denied) {
		t.Errorf("listing error: %v", err)
	}
}
