package configs

import (
	"strings"
	"unicode/utf8"
)

// maxErrorLength bounds an error message. Errors quote the values they
// refuse, and a config or an ID can hold megabytes: one such message would
// flood the user's terminal and every log the client keeps.
const maxErrorLength = 512

// elision marks where presentable cut a message.
const elision = "[...]"

// presentable keeps the promise of one readable line for every error this
// package returns: line breaks are escaped (errors built by other packages
// may quote input unescaped), and an over-long message loses its middle,
// where the quoted value sits, keeping the field in front and the reason at
// the end. errors.Is and errors.As still see the original.
func presentable(err error) error {
	msg := err.Error()
	shown := strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(msg)
	shown = elideMiddle(shown, maxErrorLength)
	if shown == msg {
		return err
	}
	return &presentedError{msg: shown, err: err}
}

// elideMiddle shortens s to at most limit bytes by replacing its middle
// with elision, cutting only between UTF-8 sequences.
func elideMiddle(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	keep := limit - len(elision)
	head := keep / 2
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	tail := len(s) - (keep - keep/2)
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + elision + s[tail:]
}

type presentedError struct {
	msg string
	err error
}

func (e *presentedError) Error() string { return e.msg }
func (e *presentedError) Unwrap() error { return e.err }
