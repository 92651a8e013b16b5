// Package intelrdt places a container in an Intel RDT (resctrl) group:
// cache and memory bandwidth allocation through the group's schemata,
// monitoring through a monitoring group. It knows nothing of the CLI.
package intelrdt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNotEnabled is runc's refusal where the kernel offers no resctrl.
var ErrNotEnabled = errors.New("intelRdt is specified in config, but Intel RDT is not supported or enabled")

// FindRoot returns where resctrl is mounted, from the mount table at
// mountinfoPath (normally /proc/self/mountinfo).
func FindRoot(mountinfoPath string) (string, error) {
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	mounts, err := mountinfo.GetMountsFromReader(f, mountinfo.FSTypeFilter("resctrl"))
	if err != nil {
		return "", err
	}
	if len(mounts) == 0 {
		return "", ErrNotEnabled
	}
	return mounts[0].Mountpoint, nil
}

// Check refuses what the resctrl at root cannot do: a schema for a
// resource it does not offer (runc's words), monitoring without
// monitoring support, or a closID that is not a plain name.
func Check(cfg *specs.LinuxIntelRdt, root string) error {
	if cfg.ClosID != "" && (cfg.ClosID == "." || cfg.ClosID == ".." || strings.ContainsAny(cfg.ClosID, "/\n") || len(cfg.ClosID) > 255) {
		return fmt.Errorf("intelRdt.closID %q: not a resctrl group name", cfg.ClosID)
	}
	has := func(resource string) bool {
		_, err := os.Stat(filepath.Join(root, "info", resource))
		return err == nil
	}
	switch {
	case cfg.L3CacheSchema != "" && !has("L3"):
		return errors.New("intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled")
	case cfg.MemBwSchema != "" && !has("MB"):
		return errors.New("intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled")
	case cfg.EnableMonitoring && !has("L3_MON"):
		return errors.New("intelRdt.enableMonitoring is specified in config, but Intel RDT monitoring is not enabled")
	}
	for _, line := range schemataLines(cfg) {
		if strings.ContainsAny(line, "\r") || !strings.Contains(line, ":") {
			return fmt.Errorf("intelRdt: schemata line %q is not RESOURCE:domain=value", line)
		}
	}
	return nil
}

// schemataLines are the lines to write to the group's schemata, one
// resource per write as the kernel parses them.
func schemataLines(cfg *specs.LinuxIntelRdt) []string {
	var lines []string
	for _, text := range append([]string{cfg.L3CacheSchema, cfg.MemBwSchema}, cfg.Schemata...) {
		for line := range strings.SplitSeq(text, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				lines = append(lines, line)
			}
		}
	}
	return lines
}

// Group is a container's place in resctrl: the control group its schemata
// live in, and the directory whose tasks file holds its processes (a
// monitoring group inside the control group when monitoring is on).
type Group struct {
	Dir, TasksDir string
	// New lists the directories Apply will create, innermost first: a
	// closID group that already exists is shared with other containers
	// and is not ours to remove. The caller records them before Apply.
	New []string
}

// Plan names the group for container id under root: the closID's, or one
// of its own named after the container.
func Plan(root, id string, cfg *specs.LinuxIntelRdt) *Group {
	name := cfg.ClosID
	if name == "" {
		name = id
	}
	g := &Group{Dir: filepath.Join(root, name)}
	g.TasksDir = g.Dir
	if cfg.EnableMonitoring && cfg.ClosID != "" {
		g.TasksDir = filepath.Join(g.Dir, "mon_groups", id)
	}
	for _, dir := range []string{g.TasksDir, g.Dir} {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && !slices.Contains(g.New, dir) {
			g.New = append(g.New, dir)
		}
	}
	return g
}

// Apply creates the group's directories, writes its schemata and moves
// pid into it.
func (g *Group) Apply(root string, cfg *specs.LinuxIntelRdt, pid int) error {
	if err := mkdirIfMissing(g.Dir); err != nil {
		return err
	}
	for _, line := range schemataLines(cfg) {
		if err := os.WriteFile(filepath.Join(g.Dir, "schemata"), []byte(line+"\n"), 0); err != nil {
			return fmt.Errorf("intelRdt: write %q to %s/schemata: %w%s", line, g.Dir, err, lastCmdStatus(root))
		}
	}
	if err := mkdirIfMissing(g.TasksDir); err != nil {
		return err
	}
	return g.AddTask(pid)
}

// AddTask moves pid into the group.
func (g *Group) AddTask(pid int) error {
	if err := os.WriteFile(filepath.Join(g.TasksDir, "tasks"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("intelRdt: add pid %d to %s: %w", pid, g.TasksDir, err)
	}
	return nil
}

func mkdirIfMissing(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("intelRdt: create %s: %w", dir, err)
	}
	return nil
}

// lastCmdStatus is the kernel's explanation of a refused schemata write.
func lastCmdStatus(root string) string {
	msg, err := os.ReadFile(filepath.Join(root, "info", "last_cmd_status"))
	if err != nil || len(strings.TrimSpace(string(msg))) == 0 {
		return ""
	}
	return " (" + strings.TrimSpace(string(msg)) + ")"
}

// Remove deletes the directories a container's Plan listed as new; the
// kernel moves any task left in them back to the parent group. The list
// comes from the state store, so only directories below root's resctrl
// mount are touched.
func Remove(root string, dirs []string) error {
	for _, dir := range dirs {
		rel, err := filepath.Rel(root, dir)
		if err != nil || rel == "." || !filepath.IsLocal(rel) || strings.HasPrefix(rel, "info") {
			return fmt.Errorf("intelRdt: refusing to remove %s: not a group below %s", dir, root)
		}
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("intelRdt: remove %s: %w", dir, err)
		}
	}
	return nil
}
