package configs

import (
	"strings"
	"testing"
)

// requireOneLineError fails unless err is non-nil, fits on one line and
// mentions every fragment (which name the problem for the user).
func requireOneLineError(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", fragments)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
	for _, fragment := range fragments {
		if !strings.Contains(msg, fragment) {
			t.Fatalf("error %q does not mention %q", msg, fragment)
		}
	}
}
