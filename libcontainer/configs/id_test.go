package configs

import (
	"strings"
	"testing"
)

func TestValidateIDRejects(t *testing.T) {
	for _, tc := range []struct {
		name, id, reason string
	}{
		{"empty", "", "empty"},
		{"dot", ".", "reserved"},
		{"dotdot", "..", "reserved"},
		{"slash", "a/b", `'/'`},
		{"parent escape", "../x", `'/'`},
		{"absolute", "/etc", `'/'`},
		{"NUL", "a\x00b", `'\x00'`},
		{"newline", "a\nb", `'\n'`},
		{"escape", "a\x1b[31mb", `'\x1b'`},
		{"DEL", "a\x7f", `'\x7f'`},
		{"space", "a b", `' '`},
		{"colon", "a:b", `':'`},
		{"comma", "a,b", `','`},
		{"non-ASCII", "caf\u00e9", `'é'`},
		{"invalid UTF-8", "a\xff", "invalid UTF-8 byte 0xff"},
		{"1 KiB", strings.Repeat("a", 1024), "longer than 255 bytes"},
		{"one too long", strings.Repeat("a", 256), "longer than 255 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateID(tc.id)
			requireOneLineError(t, err, "invalid container id ", tc.reason)
		})
	}
}

func TestValidateIDAccepts(t *testing.T) {
	for _, id := range []string{
		"a", "demo", "0", "A_b-c.d+e", "...", ".hidden", "-leading-dash",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		strings.Repeat("x", 255),
	} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
}
