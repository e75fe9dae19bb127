// Package taskpod is the pure translation of a KubeOpenCode Task into what runs it: the agent
// Pod, the Task's context ConfigMap, the Agent's egress NetworkPolicy, and, back again, what a
// Pod's status means for its Task. It is the logic of the reference operator without its I/O,
// for anyone else who runs kubeopencode.io Tasks (a dry-run CLI, a webhook, another scheduler).
//
// Nothing here talks to an API server or reads a clock: the caller reads the Agent, the
// KubeOpenCodeConfig and the ConfigMaps that [ConfigMapsToRead] names, and passes them in; [ReadPod]
// takes "now" as an argument. The same input always gives the same output. The module imports
// the API types and the podspec, credentials and policy libraries, never controller-runtime or
// client-go (hack/verify.sh enforces it).
//
// # Building a Pod
//
// [Build] turns an [Input] (Task, Agent, optional KubeOpenCodeConfig, the caller's [Defaults]
// and the read ConfigMaps) into a [Result]: the Pod, hardened by podspec (every container
// non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp, read-only root
// filesystem), and the context ConfigMap when the contexts need one. The Pod is named
// [PodName] (from the Task's name and UID, T4) in the Agent's namespace, carries the Task's and
// Agent's labels, and is owned by the Task when both are in one namespace. The caller still
// judges it against Pod Security "restricted" (policy.PodSecurityJudge) before creating it.
//
// Contexts: the Agent's come first, then the Task's. A Task's ConfigMaps are read by the caller
// in the Task's namespace only, and copied into the context ConfigMap: an object of the Agent's
// namespace is never mounted because a Task named it (T3). A Git context becomes a git-clone init
// container running [SystemBinary] git-clone ([gitclone]), its Secret mounted into that
// container only and bound to the repository's own host (T13). Every mountPath is checked
// against the others and the Pod's reserved paths (T11); a Task's files stay inside the
// workspace, out of HOME and /tmp, away from the Agent's command and OpenCode's configuration
// names (T20).
//
// # Reading a Pod
//
// [ReadPod] says whether a Task's Pod has ended and how ([Outcome]): succeeded, failed, timed
// out, deleted, or unable to start (a fatal kubelet waiting reason, or nothing started within a
// start timeout, T6). It reads only what the kubelet writes; the agent's termination message
// becomes [Outcome].Result, bounded to [MaxResultBytes] of valid UTF-8.
//
// # Errors
//
// Build returns an *[Error] when the Agent cannot run the Task as written; a weaker Pod is never
// the answer (T16). It lists every problem found, not only the first, as field.ErrorLists with
// paths into the Agent's spec ([Error].Agent) or the Task's ([Error].Task), and its Reason is
// the Task condition reason: v1alpha1.ReasonPathConflict when any problem is a path collision,
// otherwise v1alpha1.ReasonInvalidConfiguration. Error() is the message for the Task's author:
// a Task from another namespace is told only that the Agent is misconfigured, never the Agent's
// Secret names or paths; [Error.AgentMessage] has them, for the Agent's own status. Problems
// found by credentials are reported under spec.credentials with the others; podspec's own checks
// (reserved labels, the assembled Pod's mounts) run only when nothing else was found, and are
// reported under spec (under the Task's spec.contexts for a path conflict when the Task has
// contexts, since its paths may be involved).
//
// [EgressNetworkPolicy] returns a field.ErrorList aggregate under spec.networkPolicy when
// policy refuses the allow-list. [ReadPod] cannot fail.
package taskpod
