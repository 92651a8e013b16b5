// Package libcontainer decides what the runtime does: it keeps the state
// store, drives a container through create, start, kill and delete, spawns
// the container's init and exec processes and speaks the parent↔init
// protocol with them, and runs the init's side inside the container. The
// CLI at the repository root parses and reports; the leaf packages
// (cgroups, seccomp, nsenter) do what this package asks of them.
// docs/design.md draws the processes and their messages.
package libcontainer
