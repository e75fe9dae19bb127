package v1alpha1

import "github.com/kubeopencode/kubeopencode/api/contract"

// This file holds the types and constants shared by Agent, Task and KubeOpenCodeConfig. The values
// the libraries share come from api/contract; the CEL rules below repeat some of them, because a
// marker cannot refer to a Go constant, and api/crds tests that every rule matches the contract.

// AbsolutePath is an absolute, normalized path inside the agent container.
//
// It is 2–1024 characters from [A-Za-z0-9/._+@-] (no spaces, quotes or other shell
// metacharacters), starts with "/", is not "/", has no empty segment ("//"), no trailing "/" and
// no "." or ".." segment. It is not, does not contain and does not lie under an operator-reserved
// path: /tools, /kubeopencode, /proc, /sys, /dev, /var/run/secrets/kubernetes.io and
// /run/secrets/kubernetes.io. It is not /home/agent or /tmp, which the operator mounts as
// writable emptyDirs (paths below them are fine).
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="must be an absolute path (start with /)"
// +kubebuilder:validation:XValidation:rule="self != '/'",message="must not be the root directory /"
// +kubebuilder:validation:XValidation:rule="self == '/' || !self.endsWith('/')",message="must not end with /"
// +kubebuilder:validation:XValidation:rule="!self.contains('//')",message="must not contain an empty segment (//)"
// +kubebuilder:validation:XValidation:rule="!(self + '/').contains('/./') && !(self + '/').contains('/../')",message="must be normalized: no . or .. segments"
// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9/._+@-]*$')",message="may contain only letters, digits and / . _ + @ - (no spaces or shell metacharacters)"
// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') || !['/tools', '/kubeopencode', '/proc', '/sys', '/dev', '/var/run/secrets/kubernetes.io', '/run/secrets/kubernetes.io'].exists(p, self == p || self.startsWith(p + '/') || p.startsWith(self + '/'))",message="must not be, contain or lie under an operator-reserved path (/tools, /kubeopencode, /proc, /sys, /dev, /var/run/secrets/kubernetes.io, /run/secrets/kubernetes.io)"
// +kubebuilder:validation:XValidation:rule="!(self in ['/home/agent', '/tmp'])",message="must not be /home/agent or /tmp: the operator mounts them (paths below them are allowed)"
type AbsolutePath string

// ContextPath is where a context is mounted: an absolute path, or a path relative to the
// Agent's workspaceDir (upstream KubeOpenCode's meaning: "src" is <workspaceDir>/src).
//
// It is 1–1024 characters from [A-Za-z0-9/._+@-], is not "/", has no empty segment ("//"), no
// trailing "/" and no "." or ".." segment, so a relative path never leaves the workspace. An
// absolute one also follows the AbsolutePath rules: not, containing or under /tools,
// /kubeopencode, /proc, /sys, /dev, /var/run/secrets/kubernetes.io or /run/secrets/kubernetes.io,
// and not /home/agent or /tmp. Where a Task's context may go is narrower still (see TaskSpec).
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:XValidation:rule="self != '/'",message="must not be the root directory /"
// +kubebuilder:validation:XValidation:rule="self == '/' || !self.endsWith('/')",message="must not end with /"
// +kubebuilder:validation:XValidation:rule="!self.contains('//')",message="must not contain an empty segment (//)"
// +kubebuilder:validation:XValidation:rule="!('/' + self + '/').contains('/./') && !('/' + self + '/').contains('/../')",message="must be normalized: no . or .. segments"
// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9/._+@-]*$')",message="may contain only letters, digits and / . _ + @ - (no spaces or shell metacharacters)"
// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') || !['/tools', '/kubeopencode', '/proc', '/sys', '/dev', '/var/run/secrets/kubernetes.io', '/run/secrets/kubernetes.io'].exists(p, self == p || self.startsWith(p + '/') || p.startsWith(self + '/'))",message="must not be, contain or lie under an operator-reserved path (/tools, /kubeopencode, /proc, /sys, /dev, /var/run/secrets/kubernetes.io, /run/secrets/kubernetes.io)"
// +kubebuilder:validation:XValidation:rule="!(self in ['/home/agent', '/tmp'])",message="must not be /home/agent or /tmp: the operator mounts them (paths below them are allowed)"
type ContextPath string

// FileMode is a Unix permission mode for a file the operator mounts: 0–0777 (0–511 in decimal)
// without the group-write or other-write bit (mode & 0o022 == 0). In YAML write it with a leading
// 0, e.g. 0400; JSON has no octal literals, so there it is decimal (0400 = 256).
//
// +kubebuilder:validation:Minimum=0
// +kubebuilder:validation:Maximum=511
// +kubebuilder:validation:XValidation:rule="(self / 16) % 2 == 0 && (self / 2) % 2 == 0",message="must not grant group or other write permission (mode & 0022 must be 0)"
type FileMode int32

// Reserved paths, names and keys (shared contract, see CONTRIBUTING.md).
const (
	// ToolsDir holds the agent binary, copied there by the init container.
	ToolsDir = contract.ToolsDir
	// InternalDir is operator-internal: staged credentials and contexts.
	InternalDir = contract.InternalDir
	// HomeDir is the agent's HOME, a writable emptyDir.
	HomeDir = contract.HomeDir
	// TmpDir is a writable emptyDir.
	TmpDir = contract.TmpDir
	// TaskFileName is written by the operator at <workspaceDir>/task.md.
	TaskFileName = "task.md"
	// InternalWorkspaceDir is written by the operator at <workspaceDir>/.kubeopencode
	// (it holds context.md).
	InternalWorkspaceDir = ".kubeopencode"
	// DefaultAgentUID is the UID agent containers run as unless KubeOpenCodeConfig says otherwise.
	DefaultAgentUID = contract.DefaultUID
	// DefaultAgentGID is the GID agent containers run as unless KubeOpenCodeConfig says otherwise.
	DefaultAgentGID = contract.DefaultGID
	// DefaultCredentialFileMode is the mode of a credential file when fileMode is unset (0600).
	DefaultCredentialFileMode = contract.DefaultCredentialFileMode
	// MaxTaskTimeout is the longest spec.timeout a Task may ask for.
	MaxTaskTimeout = "24h"
)

// ReservedPaths are the paths no mountPath or workspaceDir may be, contain or lie under.
// It is contract.ReservedPaths as a slice of the caller's own.
func ReservedPaths() []string {
	p := contract.ReservedPaths()
	return p[:]
}

// ReservedEnvNames are the environment variable names a credential may not set, because the
// operator or the agent runtime sets them: HOME, PATH, SHELL and USER (the container and its
// shell), WORKSPACE_DIR and OPENCODE_CONFIG_CONTENT (the operator, the latter from spec.config),
// AGENT, OPENCODE and OPENCODE_PID (OpenCode sets them for itself when it starts). In addition, no
// name may start with one of ReservedEnvPrefixes. Other OPENCODE_* names (OPENCODE_API_KEY, ...)
// are allowed.
func ReservedEnvNames() []string {
	n := contract.ReservedEnvNames()
	return n[:]
}

// ReservedEnvPrefixes are the prefixes a credential env name may not start with: the operator
// sets TASK_* and KUBEOPENCODE_* variables.
func ReservedEnvPrefixes() []string {
	p := contract.ReservedEnvPrefixes()
	return p[:]
}

// ReservedEnvPrefixPrefixes are the prefixes no name formed by envPrefix + a Secret key may start
// with: ReservedEnvPrefixes and OPENCODE_. The keys of a whole Secret are chosen by whoever writes
// the Secret, and OpenCode reads OPENCODE_* variables as its own settings (permissions, the
// configuration path), so only an explicit env name may set one.
func ReservedEnvPrefixPrefixes() []string {
	p := contract.ReservedEnvPrefixPrefixes()
	return p[:]
}

// OpenCodeConfigNames are the file and directory names OpenCode reads its project configuration
// from, looking upwards from its working directory. A Task context may not be mounted at a path
// with one of them as any segment: whoever writes a Task must not override the Agent's model,
// permissions, plugins or instructions.
func OpenCodeConfigNames() []string {
	return []string{"opencode.json", "opencode.jsonc", ".opencode"}
}

// Labels and annotations.
const (
	// ReservedKeyDomain is the label/annotation prefix (with its subdomains) that Agents may not
	// set in podSpec.labels or podSpec.annotations.
	ReservedKeyDomain = "kubeopencode.io"
	// ManagedByLabel marks every object the operator creates; Agents may not set it.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel on objects the operator creates.
	ManagedByValue = "kubeopencode"
	// TaskUIDLabel carries the UID of the Task an object belongs to.
	TaskUIDLabel = "kubeopencode.io/task-uid"
	// TaskNameLabel carries the name of the Task an object belongs to.
	TaskNameLabel = "kubeopencode.io/task-name"
	// TaskNamespaceLabel carries the namespace of the Task an object belongs to.
	TaskNamespaceLabel = "kubeopencode.io/task-namespace"
	// AgentLabel carries the name of the Agent a Pod runs (hashed when longer than 63
	// characters, so two Agents' values can be equal).
	AgentLabel = "kubeopencode.io/agent"
	// CreatedByLabel, with value CreatedByOperator, marks the Pods and context ConfigMaps the
	// operator itself created for a Task (a Pod built with the podspec library by anyone else
	// carries the other labels but not this one). The operator deletes an object whose Task is
	// gone only if it carries this mark (threat T18), never on the other labels alone.
	CreatedByLabel = "kubeopencode.io/created-by"
	// CreatedByOperator is the value of CreatedByLabel on the operator's objects.
	CreatedByOperator = "operator"
	// AgentUIDLabel carries the UID of the Agent a Pod runs; it cannot collide.
	AgentUIDLabel = "kubeopencode.io/agent-uid"
	// StopAnnotation on a Task, set to "true", asks the operator to stop it: the Pod is deleted
	// wherever it runs and the Task ends Failed with reason Stopped.
	StopAnnotation = "kubeopencode.io/stop"
	// StopAnnotationValue is the only value of StopAnnotation that stops a Task.
	StopAnnotationValue = "true"
)

// SecretReference names a Secret in the Agent's namespace and, optionally, one of its keys.
type SecretReference struct {
	// name of the Secret, in the Agent's namespace. A DNS subdomain (RFC 1123), at most 253
	// characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key selects one key of the Secret. Unset means the whole Secret (see Credential for what
	// that does). A Secret key: 1–253 characters from [-._a-zA-Z0-9], not "." or "..", not
	// starting with "..".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self != '.' && !self.startsWith('..')",message="must not be . or start with .."
	Key string `json:"key,omitempty"`
}

// LocalSecretReference names a Secret in the namespace of the object that holds the reference.
type LocalSecretReference struct {
	// name of the Secret. A DNS subdomain (RFC 1123), at most 253 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}
