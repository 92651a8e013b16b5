package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/oci-rt/oci-rt/libcontainer"
)

// parseCommand runs cmd's flag parsing on args under the global flags
// and hands the context to got instead of cmd's action.
func parseCommand(t *testing.T, cmd *cli.Command, args []string, got func(*cli.Context) error) {
	t.Helper()
	app := newApp()
	app.Before = nil
	parsed := *cmd
	parsed.Action = got
	app.Commands = []*cli.Command{&parsed}
	if err := app.Run(append([]string{"oci-rt"}, args...)); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// TestCheckpointFlagsAsRuncHasThem: every checkpoint flag of runc is
// taken and lands in its option.
func TestCheckpointFlagsAsRuncHasThem(t *testing.T) {
	var o *libcontainer.CheckpointOptions
	parseCommand(t, checkpointCommand, []string{"--criu", "/opt/criu", "checkpoint",
		"--image-path", "/ck/img", "--work-path", "/ck/work", "--parent-path", "/ck/pre", "--leave-running",
		"--tcp-established", "--ext-unix-sk", "--shell-job", "--lazy-pages", "--status-fd", "7",
		"--page-server", "127.0.0.1:9", "--file-locks", "--pre-dump", "--manage-cgroups-mode", "strict",
		"--empty-ns", "network", "--auto-dedup", "c1"}, func(ctx *cli.Context) (err error) {
		o, err = checkpointOptions(ctx)
		return err
	})
	want := &libcontainer.CheckpointOptions{
		CriuFlags: libcontainer.CriuFlags{
			CriuPath: "/opt/criu", TCPEstablished: true, ExtUnixSk: true, ShellJob: true, FileLocks: true,
			AutoDedup: true, LazyPages: true, ManageCgroupsMode: "strict", EmptyNs: []string{"network"},
		},
		ImagePath: "/ck/img", WorkPath: "/ck/work", ParentPath: "/ck/pre", LeaveRunning: true, PreDump: true,
		PageServer: "127.0.0.1:9", StatusFD: 7,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("checkpoint options\n got %+v\nwant %+v", o, want)
	}
}

// TestCheckpointDefaultsAsRunc: no --status-fd is -1 (none), the image
// path ./checkpoint.
func TestCheckpointDefaultsAsRunc(t *testing.T) {
	t.Chdir(t.TempDir())
	var o *libcontainer.CheckpointOptions
	parseCommand(t, checkpointCommand, []string{"checkpoint", "c1"}, func(ctx *cli.Context) (err error) {
		o, err = checkpointOptions(ctx)
		return err
	})
	if o.StatusFD != -1 || o.LeaveRunning || o.PreDump || o.CriuPath != "criu" {
		t.Errorf("defaults %+v", o)
	}
	if !strings.HasSuffix(o.ImagePath, "/checkpoint") {
		t.Errorf("default image path %q, want ./checkpoint", o.ImagePath)
	}
}

// TestRestoreFlagsAsRuncHasThem: every restore flag of runc is taken and
// lands in its option.
func TestRestoreFlagsAsRuncHasThem(t *testing.T) {
	var o *libcontainer.RestoreOptions
	parseCommand(t, restoreCommand, []string{"restore",
		"--image-path", "/ck/img", "--work-path", "/ck/work", "--tcp-established", "--ext-unix-sk",
		"--shell-job", "--file-locks", "--manage-cgroups-mode", "soft", "--bundle", "/b", "--detach",
		"--pid-file", "/run/p.pid", "--console-socket", "/run/cs.sock", "--no-subreaper", "--no-pivot",
		"--empty-ns", "network", "--auto-dedup", "--lazy-pages", "--lsm-profile", "apparmor:p",
		"--lsm-mount-context", "system_u:object_r:container_file_t:s0", "c2"}, func(ctx *cli.Context) (err error) {
		o, err = restoreOptions(ctx)
		return err
	})
	want := &libcontainer.RestoreOptions{
		CreateOptions: libcontainer.CreateOptions{ID: "c2", Bundle: "/b", ConsoleSocket: "/run/cs.sock",
			PidFile: "/run/p.pid", NoPivot: true, Stdio: o.Stdio},
		CriuFlags: libcontainer.CriuFlags{
			CriuPath: "criu", TCPEstablished: true, ExtUnixSk: true, ShellJob: true, FileLocks: true,
			AutoDedup: true, LazyPages: true, ManageCgroupsMode: "soft", EmptyNs: []string{"network"},
		},
		ImagePath: "/ck/img", WorkPath: "/ck/work", LsmProfile: "apparmor:p",
		LsmMountContext: "system_u:object_r:container_file_t:s0",
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("restore options\n got %+v\nwant %+v", o, want)
	}
}
