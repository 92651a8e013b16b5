package nsenter

import "os"

// The environment variables that ask the constructor of a runtime that
// re-executes itself to make a user namespace (and a mount namespace) of
// its own, their values the uid and gid maps it writes for itself (see
// make_own_user_namespace in nsenter.c).
const (
	ownUIDMapEnv = "_OCIRT_OWN_UID_MAP"
	ownGIDMapEnv = "_OCIRT_OWN_GID_MAP"
)

// OwnUserNamespaceEnv is env with the request that the constructor of the
// process it is given to make a user namespace of its own, mapped with
// uidMap and gidMap ("inside outside count" lines, as the kernel takes
// them), and a mount namespace in it. Only a map of the caller's own id
// alone can be written that way, by a caller without privilege.
func OwnUserNamespaceEnv(env []string, uidMap, gidMap string) []string {
	return append(env, ownUIDMapEnv+"="+uidMap, ownGIDMapEnv+"="+gidMap)
}

// TakeOwnUserNamespaceRequest returns the maps this process's constructor
// was asked to write, if it was, and removes the request from the
// environment, so that no process the runtime starts carries it on. The
// caller reads its maps to learn what the constructor made.
func TakeOwnUserNamespaceRequest() (uidMap, gidMap string, asked bool) {
	uidMap, uidSet := os.LookupEnv(ownUIDMapEnv)
	gidMap, gidSet := os.LookupEnv(ownGIDMapEnv)
	if !uidSet && !gidSet {
		return "", "", false
	}
	_ = os.Unsetenv(ownUIDMapEnv)
	_ = os.Unsetenv(ownGIDMapEnv)
	return uidMap, gidMap, true
}
