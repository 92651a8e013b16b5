package libcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runHooks runs hooks in order with the container's state on stdin; the
// first failure stops the rest and is returned in one line, with what the
// hook wrote to stderr.
func runHooks(kind string, hooks []specs.Hook, state *specs.State) error {
	stdin, err := json.Marshal(state)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		debugf("running %s hook #%d (%s)", kind, i, h.Path)
		if err := runHook(h, stdin, hookDir(kind, state)); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err)
		}
	}
	return nil
}

// hookDir is where a hook runs: the bundle for those that run in the
// runtime's namespaces, as runc runs them (hooks find files next to
// config.json that way); our own directory for those that run in the
// container's, where the bundle's path may lead nowhere, and when the
// bundle is gone already (a client may remove it before poststop).
func hookDir(kind string, state *specs.State) string {
	if kind == "createContainer" || kind == "startContainer" {
		return ""
	}
	if st, err := os.Stat(state.Bundle); err != nil || !st.IsDir() {
		return ""
	}
	return state.Bundle
}

// runAllHooks runs every hook even after failures, which it reports through
// Warn: a failed poststop hook must not stop the others nor delete (spec
// 1.3 runtime.md, lifecycle step 13; program poststop_fail).
func runAllHooks(kind string, hooks []specs.Hook, state *specs.State) {
	stdin, err := json.Marshal(state)
	if err != nil {
		Warn(fmt.Sprintf("%s hooks: %v", kind, err))
		return
	}
	for i, h := range hooks {
		debugf("running %s hook #%d (%s)", kind, i, h.Path)
		if err := runHook(h, stdin, hookDir(kind, state)); err != nil {
			Warn(fmt.Sprintf("%s hook #%d (%s): %v", kind, i, h.Path, err))
		}
	}
}

func runHook(h specs.Hook, stdin []byte, dir string) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// A hook that forks a daemon keeping stderr open must not hang us.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.Join(strings.Fields(stderr.String()), " "); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}
