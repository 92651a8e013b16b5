// Package configs loads an OCI bundle, checks its config.json before the
// runtime acts on any of it, and produces the default config `oci-rt spec`
// writes.
//
// Every error is a single line that names the offending field, because the
// CLI prints it verbatim to clients that parse stderr line by line; values
// taken from the config are quoted with %q so that control characters in
// hostile input cannot break the line.
package configs
