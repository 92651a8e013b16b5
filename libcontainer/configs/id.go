package configs

import (
	"fmt"
	"unicode/utf8"
)

// maxIDLength is NAME_MAX: the ID becomes the name of the container's state
// directory, so anything longer could never be stored.
const maxIDLength = 255

// ValidateID accepts the IDs runc accepts (letters, digits, '_', '+', '-',
// '.'), except "." and "..", which would name the state root or its parent.
// It is called before the ID is used in any path.
func ValidateID(id string) error {
	reason := idProblem(id)
	if reason == "" {
		return nil
	}
	return presentable(fmt.Errorf("invalid container id %q: %s", id, reason))
}

func idProblem(id string) string {
	switch {
	case id == "":
		return "empty"
	case id == "." || id == "..":
		return "reserved name"
	case len(id) > maxIDLength:
		return fmt.Sprintf("longer than %d bytes", maxIDLength)
	}
	for i, r := range id {
		if isIDRune(r) {
			continue
		}
		if r == utf8.RuneError {
			return fmt.Sprintf("invalid UTF-8 byte %#x at offset %d", id[i], i)
		}
		return fmt.Sprintf("character %q not allowed (only ASCII letters, digits, '_', '+', '-', '.')", r)
	}
	return ""
}

func isIDRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return r == '_' || r == '+' || r == '-' || r == '.'
}
