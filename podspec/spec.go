package podspec

import (
	"time"

	"github.com/kubeopencode/kubeopencode/api/contract"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Shared contract values: they come from api/contract, which api, credentials and policy use too.
const (
	// DefaultUID and DefaultGID are the agent's user and group when Spec.UID/GID are zero.
	DefaultUID = contract.DefaultUID
	DefaultGID = contract.DefaultGID

	// ToolsDir holds the agent binary, copied there by the agent init container.
	ToolsDir = contract.ToolsDir
	// InternalDir is operator-internal (staged credentials, contexts); only Spec.Files may use it.
	InternalDir = contract.InternalDir
	// HomeDir is HOME of the agent container: a writable emptyDir.
	HomeDir = contract.HomeDir
	// TmpDir is a writable emptyDir.
	TmpDir = contract.TmpDir
	// DefaultWorkspaceDir is the workspace (a writable emptyDir) when Spec.WorkspaceDir is empty.
	DefaultWorkspaceDir = "/workspace"
	// TaskFile and ContextFile are relative to the workspace and written by the operator
	// (through Spec.Files); other mounts may not use them.
	TaskFile    = "task.md"
	ContextFile = ".kubeopencode/context.md"

	// DefaultFileMode is the mode of a Spec.Files entry whose Mode is zero.
	DefaultFileMode int32 = 0o444
	// DefaultDeadline becomes activeDeadlineSeconds when Spec.Deadline is zero.
	DefaultDeadline = time.Hour

	// ResultPath is the agent container's termination message path: the agent's result is what
	// it writes there (the kubelet keeps at most 4096 bytes). When the agent exits non-zero
	// without writing it, the kubelet takes the tail of its output instead
	// (terminationMessagePolicy FallbackToLogsOnError). It is the Kubernetes default path, a file
	// the kubelet mounts writable even with a read-only root filesystem.
	ResultPath = "/dev/termination-log"
)

// Names podspec gives to the objects it adds. Caller containers and volumes may not use them.
const (
	AgentContainerName     = "agent"
	AgentInitContainerName = "agent-init"

	ToolsVolumeName     = "tools"
	HomeVolumeName      = "home"
	TmpVolumeName       = "tmp"
	WorkspaceVolumeName = "workspace"
)

// Environment variables podspec sets on the agent container (Spec.Env may not set them).
const (
	EnvHome         = "HOME"
	EnvWorkspaceDir = "WORKSPACE_DIR"
)

// Labels podspec puts on every Pod under the default [LabelScheme] (KubeOpenCode's). Spec.Labels
// may not set these keys, nor any other key with a kubeopencode.io prefix (or a subdomain of it).
// A custom Spec.LabelScheme replaces every key but LabelManagedBy, and ManagedByValue; its
// Keys method returns them.
const (
	LabelManagedBy     = "app.kubernetes.io/managed-by"
	ManagedByValue     = DefaultManagedBy
	LabelTaskUID       = "kubeopencode.io/task-uid"
	LabelTaskName      = "kubeopencode.io/task-name"
	LabelTaskNamespace = "kubeopencode.io/task-namespace"
	LabelAgent         = "kubeopencode.io/agent"
	// LabelAgentUID carries the Agent's UID. Unlike LabelAgent, whose value is hashed for names
	// longer than 63 characters (so another Agent can be named like that value), it cannot
	// collide: select Pods on it (NetworkPolicies) rather than on LabelAgent alone.
	LabelAgentUID = "kubeopencode.io/agent-uid"
)

// Spec is a plain description of one agent run. The zero value of every optional field is the
// hardened default; the only ways to weaken the Pod are the fields of [Relax].
type Spec struct {
	// Identity names the run; the Pod name and the reserved labels derive from it. Required.
	Identity Identity
	// LabelScheme names the reserved labels (domain, managed-by value). The zero value is
	// KubeOpenCode's: another controller sets its own, so its Pods never look like KubeOpenCode's.
	LabelScheme LabelScheme
	// Namespace of the Pod (a DNS label). Required. It may differ from Identity.OwnerNamespace.
	Namespace string
	// Labels and Annotations are added to the Pod. Keys reserved by the LabelScheme are refused,
	// never overwritten.
	Labels      map[string]string
	Annotations map[string]string

	// AgentImage runs as the init container that copies the agent binary into ToolsDir. Required.
	AgentImage string
	// AgentInitCommand overrides the AgentImage entrypoint; empty keeps the entrypoint.
	AgentInitCommand []string
	// ExecutorImage runs the agent in the worker container. Required.
	ExecutorImage string
	// ImagePullPolicy for the agent init and agent containers; empty leaves the API default.
	ImagePullPolicy  corev1.PullPolicy
	ImagePullSecrets []corev1.LocalObjectReference

	// WorkspaceDir is the working directory of the agent, a writable emptyDir. Default
	// DefaultWorkspaceDir.
	WorkspaceDir string
	// Command and Args of the agent container. Command is required (e.g. "/tools/opencode").
	Command []string
	Args    []string
	// Env is added to the agent container after HOME and WORKSPACE_DIR, which it may not set.
	// Names must be C identifiers and unique. This is trusted input: unlike credentials, it may set
	// TASK_*, OPENCODE_* or KUBEOPENCODE_* variables.
	Env []corev1.EnvVar
	// Files are placed read-only into the agent container from ConfigMaps (contexts, task.md).
	Files []File

	// Volumes are added to the Pod; only the volume types Pod Security "restricted" allows.
	Volumes []corev1.Volume
	// VolumeMounts are added to the agent container.
	VolumeMounts []corev1.VolumeMount
	// InitContainers run after the agent init container, in order. Set RestartPolicy Always for a
	// native sidecar. Their securityContext is replaced by the hardened one.
	InitContainers []corev1.Container
	// Sidecars run next to the agent as native sidecars (init containers with RestartPolicy
	// Always), so they stop when the agent ends. Their securityContext is replaced likewise.
	Sidecars []corev1.Container
	// Projections add volumes, mounts, environment and init containers after podspec has built
	// its own, e.g. a credentials.Projection. Each is applied to the agent container and to the
	// containers listed in ProjectInto. Everything they add is hardened and checked like the rest.
	Projections []Projection
	// ProjectInto names further caller containers (InitContainers or Sidecars) that receive every
	// Projection, e.g. a git-clone init container that needs a credential.
	ProjectInto []string

	// ServiceAccountName; empty uses the namespace's default. Its token is not mounted unless
	// Relax.AutomountServiceAccountToken.
	ServiceAccountName string
	// RuntimeClassName (e.g. "gvisor"); empty uses the cluster default.
	RuntimeClassName string
	Scheduling       Scheduling
	// Resources of the agent container; empty leaves them unset.
	Resources corev1.ResourceRequirements
	// InitContainerResources are given to every init container (agent-init, the caller's, the
	// Projections', native sidecars too) that sets no requests and no limits of its own, so that
	// a namespace whose ResourceQuota requires them accepts the Pod. Empty leaves them unset.
	InitContainerResources corev1.ResourceRequirements
	// WorkspaceSizeLimit, HomeSizeLimit and TmpSizeLimit become the sizeLimit of the workspace,
	// HOME and /tmp emptyDirs: the kubelet evicts a Pod that writes more. Nil: unbounded. Each
	// must be greater than zero.
	WorkspaceSizeLimit, HomeSizeLimit, TmpSizeLimit *resource.Quantity
	// Deadline becomes activeDeadlineSeconds (rounded up to a second). Zero means DefaultDeadline.
	Deadline time.Duration

	// UID and GID the agent runs as, in every container; also the Pod's fsGroup. Zero means
	// DefaultUID/DefaultGID: root cannot be chosen.
	UID, GID int64

	// Relax lists the only hardening defaults a caller can switch off.
	Relax Relax
}

// Identity is what the Pod name and the reserved labels derive from: the object that owns the run
// (for KubeOpenCode a Task; for another controller e.g. its Sandbox) and, optionally, the group or
// profile it runs on (for KubeOpenCode an Agent). The label keys come from Spec.LabelScheme.
type Identity struct {
	// OwnerUID makes the names collision-resistant across tenants. Required.
	OwnerUID string
	// OwnerName is the readable part of the Pod name. Required.
	OwnerName string
	// OwnerNamespace is the owner's namespace (label only); empty means Spec.Namespace.
	OwnerNamespace string
	// GroupName names the group (label only); empty omits the label.
	GroupName string
	// GroupUID is the group's UID (label only); empty omits the label. Unlike the name label,
	// whose value is hashed for names longer than 63 characters, it cannot collide.
	GroupUID string
}

// File is one file placed read-only into the agent container, through a subPath mount, from a key
// of a ConfigMap or from a field of the Pod's own metadata (downward API). Files are a snapshot
// taken at container start.
type File struct {
	// Path in the agent container: clean and absolute. Files may use InternalDir and the
	// workspace's TaskFile and ContextFile, which other mounts may not.
	Path      string
	ConfigMap string // name of the ConfigMap in the Pod's namespace
	Key       string // key in the ConfigMap
	// FieldPath, instead of ConfigMap and Key, is a downward API field of the Pod's metadata:
	// metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations, or
	// one key of the last two, e.g. metadata.annotations['example.com/prompt']. The content then
	// travels with the Pod, so there is no extra object to create (a caller may set a reserved
	// annotation on the built Pod for it).
	FieldPath string
	// Mode of the file, 0 means DefaultFileMode (0444). Between 0o001 and 0o777.
	Mode int32
}

// Scheduling holds placement fields copied as they are onto the Pod.
type Scheduling struct {
	NodeSelector              map[string]string
	Tolerations               []corev1.Toleration
	Affinity                  *corev1.Affinity
	TopologySpreadConstraints []corev1.TopologySpreadConstraint
	PriorityClassName         string
}

// Relax holds the only hardening defaults that can be switched off. Each field is an explicit,
// named relaxation; the zero value keeps every default. None of them takes the Pod out of Pod
// Security "restricted". Capabilities, privilege escalation, non-root, seccomp and the Pod's
// host namespaces cannot be relaxed at all.
type Relax struct {
	// AutomountServiceAccountToken mounts the service-account token into every container
	// (automountServiceAccountToken: true). Default: not mounted.
	AutomountServiceAccountToken bool
	// WritableRootFilesystem sets readOnlyRootFilesystem: false on every container.
	// Default: read-only root filesystem, with writable emptyDirs for HOME, /tmp and the workspace.
	WritableRootFilesystem bool
	// EnableServiceLinks injects the Docker-link environment variables of every Service in the
	// namespace. Default: off (they leak the namespace's topology and can shadow variables).
	EnableServiceLinks bool
}

// Projection adds volumes, mounts, environment variables and init containers to a PodSpec for
// the named containers. credentials.Projection implements it; podspec depends on no implementation.
type Projection interface {
	Apply(spec *corev1.PodSpec, containerNames ...string) error
}
