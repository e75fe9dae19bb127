package contract

import "strings"

// reservedEnvNames are set by the operator or the agent runtime: HOME, PATH, SHELL and USER (the
// container and its shell), WORKSPACE_DIR and OPENCODE_CONFIG_CONTENT (the operator), AGENT,
// OPENCODE and OPENCODE_PID (OpenCode sets them for itself when it starts).
var reservedEnvNames = [...]string{"HOME", "PATH", "SHELL", "USER", "WORKSPACE_DIR", "OPENCODE_CONFIG_CONTENT", "AGENT", "OPENCODE", "OPENCODE_PID"}

// ReservedEnvList is how messages name the reserved variables.
const ReservedEnvList = "HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*"

// ReservedEnvNames are the environment variable names no credential may set (see the package
// variable's comment for who sets each). No name may start with one of ReservedEnvPrefixes either.
// Other OPENCODE_* names (OPENCODE_API_KEY, ...) are allowed.
func ReservedEnvNames() [9]string { return reservedEnvNames }

// ReservedEnvPrefixes are the prefixes no credential env name may start with: the operator sets
// TASK_* and KUBEOPENCODE_* variables.
func ReservedEnvPrefixes() [2]string { return [...]string{"TASK_", "KUBEOPENCODE_"} }

// ReservedEnvPrefixPrefixes are the prefixes no name formed by envPrefix + a Secret key may start
// with: ReservedEnvPrefixes and OPENCODE_. Whoever writes a Secret chooses its keys, and OpenCode
// reads OPENCODE_* variables as its own settings, so only an explicit env name may set one.
func ReservedEnvPrefixPrefixes() [3]string { return [...]string{"TASK_", "KUBEOPENCODE_", "OPENCODE_"} }

// IsReservedEnvName reports whether a credential may not set name: one of ReservedEnvNames, or a
// name starting with one of ReservedEnvPrefixes. The comparison is case-sensitive, as environment
// variables are.
func IsReservedEnvName(name string) bool {
	for _, n := range reservedEnvNames {
		if name == n {
			return true
		}
	}
	for _, p := range ReservedEnvPrefixes() {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// SafeEnvPrefix reports whether no name of the form prefix+key can be reserved or start with
// OPENCODE_: the prefix must not be the start of a reserved name or of a ReservedEnvPrefixPrefixes
// entry (e.g. "TAS" + "K_ID", "OPEN" + "CODE_X"), nor start with one of those prefixes.
func SafeEnvPrefix(prefix string) bool {
	for _, n := range reservedEnvNames {
		if strings.HasPrefix(n, prefix) {
			return false
		}
	}
	for _, p := range ReservedEnvPrefixPrefixes() {
		if strings.HasPrefix(p, prefix) || strings.HasPrefix(prefix, p) {
			return false
		}
	}
	return true
}
