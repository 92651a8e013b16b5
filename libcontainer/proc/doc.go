// Package proc turns the container's init, after its root switch, into the
// configured process: user lookup, rlimits and other privileged attributes,
// then groups, ids and capabilities, cwd, environment and the executable.
//
// The init sequence calls, on one locked OS thread:
//
//	caps, err := ParseCapabilities(p.Capabilities) // also at create time, to validate
//	id, err := ResolveUser(p.User)                 // reads the container's /etc/passwd, /etc/group
//	err = SetPersonality(spec.Linux.Personality)
//	err = PrepareProcess(p, noNewKeyring)         // checks rlimits, does not set them
//	err = SetRlimits(p.Rlimits)                    // last, so the runtime's Go code is not bound by them
//	err = SwitchIdentity(p, id, caps)
//	err = Chdir(p.Cwd)                             // as the user, like runc: permissions apply
//	env := Env(p, id)
//	path, err := LookPath(p.Args[0], env)
//	err = NoNewPrivileges(p)
//	// seccomp, then execve(path, p.Args, env) from the same thread
package proc
