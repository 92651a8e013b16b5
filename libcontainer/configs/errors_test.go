package configs

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// requireBounded fails unless err is one line of at most maxErrorLength
// bytes that still starts with prefix and ends with suffix: the field in
// front and the reason at the end survive the cut.
func requireBounded(t *testing.T, err error, prefix, suffix string) {
	t.Helper()
	requireOneLineError(t, err)
	msg := err.Error()
	if len(msg) > maxErrorLength {
		t.Fatalf("error is %d bytes, more than %d", len(msg), maxErrorLength)
	}
	if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) || !strings.Contains(msg, elision) {
		t.Fatalf("error %q: want %q, then %q, then %q", msg, prefix, elision, suffix)
	}
}

// The fuzzer found a 2 KiB ID of bytes runc refuses: the error quoted all
// of it.
func TestValidateIDErrorIsBounded(t *testing.T) {
	for name, id := range map[string]string{
		"2 KiB of refused bytes": strings.Repeat("0 \xa6", 700),
		"1 MiB of line breaks":   strings.Repeat("\n/", 1<<19),
		"1 MiB of letters":       strings.Repeat("a", 1<<20),
	} {
		t.Run(name, func(t *testing.T) {
			err := ValidateID(id)
			requireBounded(t, err, `invalid container id "`, "")
		})
	}
}

func TestLoadBundleErrorIsBounded(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	for _, tc := range []struct {
		name, config, prefix, suffix string
	}{
		{"ociVersion", `{"ociVersion": "1.` + long + `", "root": {"path": "rootfs"}}`,
			`config.json: ociVersion "1.x`, `" is not a MAJOR.MINOR.PATCH version`},
		{"root.path", `{"ociVersion": "1.3.0", "root": {"path": "` + long + `"}}`,
			`config.json: root.path "xx`, `": file name too long`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := LoadBundle(makeBundle(t, []byte(tc.config)))
			requireBounded(t, err, tc.prefix, tc.suffix)
		})
	}
}

func TestValidateErrorIsBounded(t *testing.T) {
	spec := DefaultSpec(false)
	spec.Process.Args = []string{"sh", strings.Repeat("a\n", 50_000) + "\x00"}
	requireBounded(t, Validate(spec), `process.args[1] "a\na\n`, `": contains a NUL byte`)
}

func TestPresentableKeepsTheOriginal(t *testing.T) {
	short := errors.New("short")
	if got := presentable(short); got != short {
		t.Errorf("a short one-line error was wrapped: %#v", got)
	}
	long := &os.PathError{Op: "open", Path: strings.Repeat("p", 4096), Err: os.ErrNotExist}
	got := presentable(long)
	if !errors.Is(got, os.ErrNotExist) {
		t.Errorf("errors.Is no longer sees the cause through %q", got)
	}
	var pathErr *os.PathError
	if !errors.As(got, &pathErr) || pathErr != long {
		t.Errorf("errors.As no longer finds the original")
	}
}

// Cutting inside a multi-byte character would hand the user invalid UTF-8.
func TestElideMiddleCutsBetweenCharacters(t *testing.T) {
	for _, s := range []string{strings.Repeat("é", 1000), strings.Repeat("x€", 1000), strings.Repeat("😀", 1000)} {
		got := elideMiddle(s, maxErrorLength)
		if len(got) > maxErrorLength || !utf8.ValidString(got) || !strings.Contains(got, elision) {
			t.Errorf("elideMiddle(%.8q...) = %d bytes, valid UTF-8 %v: %.40q", s, len(got), utf8.ValidString(got), got)
		}
	}
	if got := elideMiddle("exactly", len("exactly")); got != "exactly" {
		t.Errorf("a string at the limit was cut: %q", got)
	}
}
