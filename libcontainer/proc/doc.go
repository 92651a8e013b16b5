// Package proc turns the container's init, after its root switch, into the
// configured process: user lookup, rlimits and other privileged attributes,
// then groups, ids and capabilities, cwd, environment and the executable.
//
// The init sequence calls, on one locked OS thread:
//
//	err = SetPersonality(spec.Linux.Personality)
//	err = PrepareProcess(p, noNewKeyring)         // checks rlimits, does not set them
//	err = SetMemoryPolicy(spec.Linux.MemoryPolicy) // set_mempolicy, kept across execve
//	id, err := ResolveUser(p.User)                 // reads the container's /etc/passwd, /etc/group
//	caps, err := ParseCapabilities(p.Capabilities) // also at create time, to validate
//	err = CheckHeld(caps)
//	err = Chdir(p.Cwd)                             // verified to be inside the container
//	env := Env(p, id)
//	path, err := LookPath(p.Args[0], env)
//	// ... create returns, start releases the init ...
//	err = SwitchIdentity(p, id, caps)              // rlimits first, then raw system calls only
//	err = NoNewPrivileges(p)
//	// seccomp, then execve(path, p.Args, env) from the same thread
package proc
