package credentials

import (
	"github.com/kubeopencode/kubeopencode/api/contract"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Shared contract values, from api/contract.
const (
	// DefaultUID and DefaultGID are the agent's user and group when Options.UID/GID are zero.
	DefaultUID = contract.DefaultUID
	DefaultGID = contract.DefaultGID
	// DefaultFileMode is the mode of a credential file when Credential.FileMode is nil.
	DefaultFileMode = contract.DefaultCredentialFileMode
)

// IsEnvName reports whether name is a C identifier ([A-Za-z_][A-Za-z0-9_]*): apimachinery's
// content.IsCIdentifier verdict, by the contract's regexp-free check (FuzzEnvName proves them equal).
func IsEnvName(name string) bool { return contract.IsCIdentifier(name) }

// IsReservedEnvName reports whether a credential may not set name: HOME, PATH, SHELL, USER,
// WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, and any name starting
// with TASK_ or KUBEOPENCODE_ ([contract.IsReservedEnvName]). Other OPENCODE_* names
// (OPENCODE_API_KEY) are not reserved. The comparison is case-sensitive, as environment variables
// are.
func IsReservedEnvName(name string) bool { return contract.IsReservedEnvName(name) }

// isDNSSubdomain reports whether s is a valid Secret name (RFC 1123 subdomain).
func isDNSSubdomain(s string) bool { return len(content.IsDNS1123Subdomain(s)) == 0 }

// isSecretKey reports whether k is a valid Secret data key: [-._a-zA-Z0-9]+, at most 253
// characters, not "." and not starting with "..".
func isSecretKey(k string) bool { return len(validation.IsConfigMapKey(k)) == 0 }
