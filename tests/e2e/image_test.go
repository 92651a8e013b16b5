//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// The suite's images, built from Debian's busybox-static: no registry is
// reachable. "busybox" runs a shell; "pause" is the CRI sandbox image and
// only sleeps.
const (
	imageBusybox = "docker.io/library/e2e-busybox:latest"
	imagePause   = "docker.io/library/e2e-pause:latest"
)

var busyboxApplets = []string{"sh", "sleep", "cat", "echo", "id", "grep", "ps", "top", "head", "true", "false",
	"ls", "stat", "mkdir", "touch", "dd", "yes", "kill", "tail", "wc", "tr", "cut", "env", "tty", "mount", "test"}

// buildImageArchive writes a docker-archive (manifest.json, one config per
// image, one shared layer): the format `docker load`, `podman load` and
// `ctr import` all accept.
func buildImageArchive(path string) error {
	layer, err := busyboxLayer()
	if err != nil {
		return err
	}
	layerSum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(layerSum[:])
	layerName := hex.EncodeToString(layerSum[:]) + "/layer.tar"

	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	add := func(name string, data []byte) error {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add(layerName, layer); err != nil {
		return err
	}
	type manifestEntry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []manifestEntry
	for _, img := range []struct {
		tag string
		cmd []string
	}{
		{imageBusybox, []string{"sh"}},
		{imagePause, []string{"sleep", "2147483647"}},
	} {
		config, err := json.Marshal(map[string]any{
			"architecture": "amd64",
			"os":           "linux",
			"created":      time.Unix(0, 0).UTC().Format(time.RFC3339),
			"config": map[string]any{
				"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				"Cmd": img.cmd,
			},
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		})
		if err != nil {
			return err
		}
		sum := sha256.Sum256(config)
		name := hex.EncodeToString(sum[:]) + ".json"
		if err := add(name, config); err != nil {
			return err
		}
		manifest = append(manifest, manifestEntry{Config: name, RepoTags: []string{img.tag}, Layers: []string{layerName}})
	}
	data, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := add("manifest.json", data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// busyboxLayer is the root filesystem: busybox with its applets, the
// directories engines mount over, users for --user checks, and files in /tmp
// and /run the read-only check expects to find again on its tmpfs.
func busyboxLayer() ([]byte, error) {
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox-static is needed: %w", err)
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	epoch := time.Unix(0, 0)
	entries := []*tar.Header{}
	dir := func(name string, mode int64) {
		entries = append(entries, &tar.Header{Name: name + "/", Mode: mode, Typeflag: tar.TypeDir, ModTime: epoch})
	}
	for _, d := range []string{"bin", "etc", "dev", "proc", "sys", "root", "var", "run", "home"} {
		dir(d, 0o755)
	}
	dir("tmp", 0o1777)
	dir("var/tmp", 0o1777)
	if err := writeEntries(tw, entries); err != nil {
		return nil, err
	}
	files := map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/sh\ne2e:x:1234:1235:e2e:/home:/bin/sh\n",
		"etc/group":      "root:x:0:\nnogroup:x:65534:\ne2e:x:1235:\n",
		"tmp/from-image": "image file in /tmp\n",
		"run/from-image": "image file in /run\n",
	}
	for _, name := range []string{"etc/group", "etc/passwd", "run/from-image", "tmp/from-image"} {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg, ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(busybox)), Typeflag: tar.TypeReg, ModTime: epoch}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(busybox); err != nil {
		return nil, err
	}
	var links []*tar.Header
	for _, applet := range busyboxApplets {
		links = append(links, &tar.Header{Name: "bin/" + applet, Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777, ModTime: epoch})
	}
	if err := writeEntries(tw, links); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func writeEntries(tw *tar.Writer, entries []*tar.Header) error {
	for _, hdr := range entries {
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	return nil
}
