// Package podspec assembles the Pod that runs an AI coding agent, hardened by default.
//
// It is a library for any controller that wants to run agents the way KubeOpenCode does: it
// depends only on k8s.io/api and k8s.io/apimachinery, does no I/O, keeps no global mutable state,
// and returns the same Pod for the same [Spec].
//
// # Shape of the Pod
//
// Two containers, the KubeOpenCode pattern: the init container "agent-init" runs Spec.AgentImage,
// which copies the agent binary into the shared emptyDir ToolsDir (/tools); the container "agent"
// runs Spec.ExecutorImage with Spec.Command in the workspace (default /workspace), where /tools is
// mounted read-only. The agent's result is its termination message: what it writes to [ResultPath]
// or, when it exits non-zero without writing there, the tail of its output
// (terminationMessagePolicy FallbackToLogsOnError). Callers may add init containers, native sidecars, volumes, mounts, files from
// ConfigMaps or from the Pod's own metadata through the downward API (contexts, task.md) and
// [Projection]s such as credentials.Projection.
//
// # Security defaults
//
// Every container, including init containers, sidecars and whatever a Projection adds, gets the
// same securityContext, replacing any the caller set:
//
//   - runAsNonRoot: true, runAsUser/runAsGroup = the agent UID/GID (default 65532; root cannot be
//     chosen because 0 means the default);
//   - allowPrivilegeEscalation: false, privileged: false, capabilities.drop: [ALL];
//   - seccompProfile: RuntimeDefault;
//   - readOnlyRootFilesystem: true. The agent gets writable emptyDirs for HOME (/home/agent), /tmp
//     and the workspace; agent-init gets /tools and /tmp.
//
// The Pod gets the same runAsNonRoot/runAsUser/runAsGroup/seccompProfile, fsGroup = the agent GID,
// os.name: linux, restartPolicy: Never, activeDeadlineSeconds from Spec.Deadline (default 1h),
// automountServiceAccountToken: false, enableServiceLinks: false, and no host namespaces. The
// hardening is applied before the Projections, so they see the final users and groups, and again
// after them, so a Projection cannot weaken the Pod.
//
// Build also refuses input that would take the Pod out of Pod Security "restricted" or make it
// ambiguous: volume types other than those "restricted" allows, host ports, probe or lifecycle
// hosts, subPathExpr, mount propagation, duplicate container or volume names, and duplicate
// environment variable names in the agent container.
//
// Resource bounds are the caller's: Spec.WorkspaceSizeLimit, HomeSizeLimit and TmpSizeLimit become
// the sizeLimit of those emptyDirs, and Spec.InitContainerResources the resources of every init
// container that sets none (so that a namespace whose ResourceQuota requires them accepts the Pod).
//
// The only defaults that can be relaxed are the fields of [Relax], each named for what it switches
// off (service-account token, read-only root filesystem, service links). None of them leaves
// "restricted". Capabilities, privilege escalation, the non-root user and seccomp cannot be relaxed.
//
// # Names and labels
//
// Names are DNS labels of at most 63 characters made of a readable prefix and a 60-bit hash of the
// whole identity ([DNSLabel]): the Pod name derives from the owner's name and UID
// ([Identity]; for KubeOpenCode the Task), so two tenants' owners with the same name never
// collide; volume names for files derive from their paths, dots and underscores included.
//
// Build sets the reserved labels of Spec.LabelScheme ([LabelScheme]): app.kubernetes.io/managed-by
// and the owner and group labels under the scheme's domain. The zero scheme is KubeOpenCode's
// (domain kubeopencode.io, managed-by kubeopencode, keys kubeopencode.io/task-uid, -name,
// -namespace, kubeopencode.io/agent and agent-uid); another controller sets its own domain and
// managed-by value, so that KubeOpenCode's operator, which caches, counts and selects Pods by
// these labels, never takes its Pods for its own (Build refuses managed-by kubeopencode with any
// scheme but KubeOpenCode's, the default for a scheme that sets only its domain). Spec.Labels and Spec.Annotations may not use
// app.kubernetes.io/managed-by nor any key under the scheme's domain or a subdomain of it
// ([LabelScheme.IsReserved]) — they are refused, never silently overwritten. Values longer than
// 63 characters become a readable prefix plus a hash ([LabelValue]).
//
// # Path hygiene
//
// Every mount path must be clean and absolute ([CheckPath]). In each container, Build refuses,
// naming both paths ([IsPathConflict] tells these problems apart):
//
//   - two mounts at the same path;
//   - a mount nested inside another mount, unless the outer one is a writable emptyDir (HOME, /tmp,
//     the workspace, or a caller's emptyDir), whose content is the intended layout; nesting inside
//     /tools, a credential directory, a context file or a caller volume would shadow part of it;
//   - mounts at, inside or above /proc, /sys, /dev and the service-account token directories;
//   - in the agent container: mounts inside /tools (except podspec's own), and mounts inside
//     /kubeopencode, at <workspace>/task.md or inside <workspace>/.kubeopencode, except Spec.Files.
//
// [ResolveInWorkspace] resolves a caller's relative path under the workspace (upstream
// KubeOpenCode's meaning of a relative context path) and refuses one that would leave it; the
// operator uses it to keep a Task's files inside the workspace.
//
// Note that the container runtime creates the mount point of a nested mount (e.g. /home/agent/.ssh
// for a file at /home/agent/.ssh/id_rsa) owned by root, so the agent cannot create other files in
// that directory.
//
// # Errors
//
// Build reports every problem it finds at once, as an [*Errors] (api/contract's Errors): a
// field.ErrorList of [*FieldError] values (k8s.io/apimachinery/pkg/util/validation/field) with
// field paths, aggregated into one message. A field error's Type carries its category, shared
// with credentials and policy through api/contract: Forbidden is [ErrReserved], Duplicate is
// [ErrConflict], the other types (Invalid, Required) are [ErrInvalid]; errors.Is(err, ErrConflict)
// asks for one, errors.As(err, &fieldErr) gives the first problem. The Spec is checked before the
// Pod is assembled, and the assembled Pod only when the Spec has no problem. An error of a
// Projection is returned wrapped, as it is, with its index. Details quote names, keys and paths,
// never environment variable values.
package podspec
