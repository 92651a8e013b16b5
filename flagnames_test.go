package main

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every flag of the app keeps, once its names are cached, what urfave/cli
// asks of it: its names, help, hidden and required state, action, and
// whether it may repeat; and a second app wraps nothing twice.
func TestCachedNamesKeepEveryFlag(t *testing.T) {
	newApp()
	app := newApp()
	check := func(where string, f cli.Flag) {
		var orig cli.Flag
		switch w := f.(type) {
		case namedFlag:
			orig = w.describedFlag
		case namedSliceFlag:
			orig = w.describedSliceFlag
		case *cli.BoolFlag:
			return
		default:
			t.Errorf("%s: flag %v (%T) has no cached names", where, f.Names(), f)
			return
		}
		if _, twice := orig.(namedFlag); twice {
			t.Errorf("%s: flag %v wrapped twice", where, f.Names())
		}
		if !slices.Equal(f.Names(), orig.Names()) {
			t.Errorf("%s: names %v, want %v", where, f.Names(), orig.Names())
		}
		if f.String() != orig.String() {
			t.Errorf("%s: help %q, want %q", where, f.String(), orig.String())
		}
		for _, is := range []func(cli.Flag) bool{
			func(f cli.Flag) bool { r, ok := f.(cli.RequiredFlag); return ok && r.IsRequired() },
			func(f cli.Flag) bool { v, ok := f.(cli.VisibleFlag); return ok && v.IsVisible() },
			func(f cli.Flag) bool { _, ok := f.(cli.ActionableFlag); return ok },
			func(f cli.Flag) bool { s, ok := f.(cli.DocGenerationSliceFlag); return ok && s.IsSliceFlag() },
		} {
			if is(f) != is(orig) {
				t.Errorf("%s: flag %v answers urfave/cli's questions unlike %T", where, f.Names(), orig)
			}
		}
	}
	for _, f := range app.Flags {
		check("global", f)
	}
	for _, c := range app.Commands {
		for _, f := range c.Flags {
			check(c.Name, f)
		}
	}
}
