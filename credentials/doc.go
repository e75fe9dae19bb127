// Package credentials turns references to Secrets into environment variables and files for an
// agent Pod, so that a credential file is readable by the agent's UID, with the requested mode,
// and by no other UID.
//
// It depends only on k8s.io/api and k8s.io/apimachinery, does no I/O, keeps no global mutable
// state and is deterministic. [Project] validates a list of [Credential]s; the resulting
// [Projection] applies itself to a PodSpec for the containers the caller names (Apply), and to no
// other container.
//
// # The four shapes of a credential
//
//	Key + Env          env: valueFrom.secretKeyRef
//	Key + MountPath    a file, mode FileMode (default 0600)
//	MountPath only     a directory holding every key of the Secret, each file mode FileMode
//	neither            envFrom: secretRef with prefix EnvPrefix
//
// Environment variable names are checked even though KubeOpenCode's CRD checks them too, because
// the library is used without the CRD: a C identifier, and not one of the names the operator or
// the agent runtime sets: HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT,
// OPENCODE, OPENCODE_PID, TASK_* or KUBEOPENCODE_*. Other OPENCODE_* names (OPENCODE_API_KEY) are
// allowed.
//
// A whole Secret as environment variables (envFrom) cannot be filtered per key, and its keys are
// unknown when the Pod is built. EnvPrefix is therefore required, and refused if any
// EnvPrefix+key could be a reserved name or start with OPENCODE_ (a prefix such as "TAS", "PA"
// or "OPEN" is refused): the Secret's writer chooses its keys, and OpenCode reads OPENCODE_*
// variables as its settings. Callers
// that accept that whoever writes the Secret may set any variable, PATH and TASK_* included, can
// say so with Options.AllowUnprefixedEnvFrom. Variables set with env (HOME, WORKSPACE_DIR, ...)
// always win over envFrom.
//
// # Credential files: staged, not mounted
//
// A Secret volume makes root-owned files. A 0600 or 0400 file is then unreadable by a non-root
// agent; with fsGroup the kubelet widens 0400 to 0440 for the group (kubernetes/kubernetes#57923);
// and 0444 would be readable by every UID in the Pod. None of these keeps the promise, so files are
// staged:
//
//  1. The Pod's fsGroup is the agent GID. Each file credential's Secret is a Secret volume with
//     defaultMode 0440 and, with a Key, items limited to that key. It is mounted read-only into
//     one container only: the staging init container "stage-credentials", first among the init
//     containers, running as the agent UID/GID and hardened like every other container (non-root,
//     no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, read-only root).
//  2. The staging container (its image and command are Options: a trusted image running the
//     stage-credentials program of this module, or the operator's own binary implementing package
//     stage) reads a JSON manifest of paths and modes — never Secret data — from the environment
//     variable KUBEOPENCODE_STAGE_MANIFEST. It refuses to run as any UID but the agent's, creates
//     one fresh directory per credential in a memory-backed emptyDir (tmpfs, 1 MiB per credential),
//     mode 0700, copies each file with O_EXCL and chmods it on its descriptor to the exact mode
//     (umask-independent), then seals the directory to 0500.
//  3. The named containers mount the staged file or directory read-only through subPath at
//     MountPath. A file is owned by the agent UID with exactly FileMode: with the default mode
//     0600, or 0400, the agent can read it and no other UID can. A directory is the staged one,
//     owned by the agent UID with mode 0500. (Root could read anything, but no container of a
//     hardened Pod runs as root, and none has capabilities.)
//
// Apply enforces the preconditions: it sets fsGroup to the agent GID (refusing another value) and
// refuses to give file credentials to a container that does not run as the agent UID.
//
// Trade-offs, by design:
//
//   - Staged files are a snapshot taken when the Pod starts. Secret rotation reaches the next Task,
//     not a running one; environment variables never rotate either. The subPath mounts would stop
//     rotation anyway, and a Task is short-lived.
//   - The staging image is trusted with every file credential of the Pod, like the kubelet is.
//   - Staged files live in memory and count against the Pod's memory (at most 1 MiB each).
//   - The container runtime creates the parent directories of a file's MountPath (e.g.
//     /home/agent/.ssh) owned by root: the agent can read its key there but not add files.
//
// # Composition with podspec
//
// The two modules do not import each other; a Projection satisfies podspec.Projection, so a
// third-party program composes them in a few lines, and podspec then hardens and path-checks
// everything the projection added:
//
//	proj, err := credentials.Project([]credentials.Credential{
//		{Name: "github", SecretName: "gh", Key: "token", Env: "GITHUB_TOKEN"},
//		{Name: "ssh", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: &mode0400},
//	}, credentials.Options{StagingImage: "example.com/stage:v1", StagingCommand: []string{"/stage-credentials"}})
//	if err != nil { ... }
//	pod, err := podspec.Build(podspec.Spec{ ..., Projections: []podspec.Projection{proj} })
//
// # Errors
//
// Project and Apply report every problem at once, as an [*Errors] (api/contract's Errors): a
// field.ErrorList of [*Error] values (k8s.io/apimachinery/pkg/util/validation/field) whose paths
// name the credential and its field (credentials[github].env), the Options or the PodSpec,
// aggregated into one message. A field error's Type carries its category, shared with podspec
// and policy through api/contract: Forbidden is [ErrReserved], Duplicate is [ErrConflict], the
// other types are [ErrInvalid], so errors.Is(err, ErrConflict) works whichever library found the
// conflict. The library never handles Secret data, so errors cannot contain any.
package credentials
