package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every flag of the app keeps, once its names are cached, what urfave/cli
// asks of it: its names, help, hidden and required state, action, and
// whether it may repeat; and a second wrapping wraps nothing twice.
func TestCachedNamesKeepEveryFlag(t *testing.T) {
	app := newApp()
	for _, c := range app.Commands {
		c.Flags = withCachedNames(withCachedNames(c.Flags))
	}
	check := func(where string, f cli.Flag) {
		var orig cli.Flag
		switch w := f.(type) {
		case namedFlag:
			orig = w.describedFlag
		case namedSliceFlag:
			orig = w.describedSliceFlag
		default:
			if f == cli.HelpFlag || f == cli.VersionFlag {
				return
			}
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

// The app wraps the flags of the command it runs, once it knows which,
// bool flags too; urfave/cli's help flag stays itself, or the command
// would get a second one.
func TestAppCachesTheRunCommandsFlagNames(t *testing.T) {
	app := newApp()
	if err := app.Run([]string{"oci-rt", "--root", t.TempDir(), "list", "--format", "json", "--quiet"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range app.Command("list").Flags {
		if _, ok := f.(namedFlag); !ok && f != cli.HelpFlag {
			t.Errorf("list flag %v (%T) is not wrapped", f.Names(), f)
		}
	}
	var help strings.Builder
	app = newApp()
	app.Writer = &help
	if err := app.Run([]string{"oci-rt", "list", "--help"}); err != nil || !strings.Contains(help.String(), "--quiet, -q") {
		t.Errorf("list --help: %v\n%s", err, help.String())
	}
}
