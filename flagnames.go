package main

import (
	"sync"

	"github.com/urfave/cli/v2"
)

// urfave/cli derives a flag's names with a regular expression at every
// Names call, and before each command runs it asks, for every flag of
// the command, whether it was set: each flag not given on the command
// line is looked up by name through the names of the flags before it.
// For exec that was some two hundred regular-expression replacements,
// about 3% of the command's CPU. The flags below answer Names from a copy
// made at the first call; the app wraps its own flags and, once it knows
// which command runs, that command's.

// describedFlag is what urfave/cli asks of a flag beyond Flag: help text,
// required and hidden flags, categories and actions.
type describedFlag interface {
	cli.DocGenerationFlag
	cli.RequiredFlag
	cli.CategorizableFlag
	cli.ActionableFlag
}

// describedSliceFlag is a describedFlag that may be given more than once.
type describedSliceFlag interface {
	describedFlag
	IsSliceFlag() bool
}

type namedFlag struct {
	describedFlag
	names func() []string
}

func (f namedFlag) Names() []string { return f.names() }

type namedSliceFlag struct {
	describedSliceFlag
	names func() []string
}

func (f namedSliceFlag) Names() []string { return f.names() }

// withCachedNames gives each flag a Names computed once. urfave/cli's own
// help and version flags stay as they are: it adds them to a command
// unless it finds them there, compared by identity.
func withCachedNames(flags []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, len(flags))
	for i, f := range flags {
		if f == cli.HelpFlag || f == cli.VersionFlag {
			out[i] = f
			continue
		}
		switch f := f.(type) {
		case namedFlag, namedSliceFlag:
			out[i] = f
		case describedSliceFlag:
			out[i] = namedSliceFlag{f, sync.OnceValue(f.Names)}
		case describedFlag:
			out[i] = namedFlag{f, sync.OnceValue(f.Names)}
		default:
			out[i] = f
		}
	}
	return out
}
