// Package controller holds the reference operator's reconcilers: TaskReconciler runs each Task as
// an agent Pod in its Agent's namespace and follows it to the end; AgentReconciler reports whether
// an Agent can be used as written. They wire the libraries (api, policy, podspec, credentials) and
// add only what needs the API server: resolving objects, capacity, status, Events and cleanup.
//
// # Task lifecycle
//
// Reconcile resolves the Agent (spec.agentRef, never status), checks the Agent's namespace policy
// (T1), builds the Pod with podspec and credentials, judges it against Pod Security "restricted"
// (T8; a failing Pod is never created, the Task fails), admits it against maxConcurrentTasks and
// quota (T7, see ledger), adds the finalizer, creates the Pod in the Agent's namespace and
// follows it to Completed or Failed. The stop annotation, spec.timeout, a vanished Pod and a Pod
// that cannot start (CreateContainerConfigError, image errors, refused by admission, unschedulable
// for too long) end the Task with a precise reason and free its slot (T5, T6). Every decision sets
// a condition and emits an events.k8s.io Event regarding the Task.
//
// # What the agent gets
//
// The Task's description travels in the Pod's own annotation kubeopencode.io/task-description;
// the kubelet turns it into <workspaceDir>/task.md (a downward API file) and TASK_DESCRIPTION,
// so it costs no ConfigMap and no write. The default command is
// ["/tools/opencode", "run", "$(TASK_DESCRIPTION)"] (Kubernetes expands the variable; no shell);
// an Agent's spec.command replaces it. TASK_NAME, TASK_NAMESPACE, TASK_UID,
// KUBEOPENCODE_AGENT_NAME and KUBEOPENCODE_AGENT_NAMESPACE name the Task and the Agent;
// OPENCODE_CONFIG_CONTENT carries spec.config. Credential files are staged by the operator's own
// image (SystemImage, "kubeopencode stage-credentials").
//
// # Names and ownership
//
// The Pod's name derives from the Task's name and UID (podspec.DNSLabel), so it is deterministic
// and tenants never collide (T4). The operator finds its Pod only by the Task's UID label in the
// namespace it computes from the Task's spec; it never acts on names read from status (T15), and
// it never adopts, reads beyond metadata, or deletes a Pod whose UID label is not the Task's.
//
// # Writes
//
// Without contexts a Task costs four writes to Tasks and Pods: the finalizer, the Pod, the
// Running status and the final status. A queued Task costs one more (Queued); deletion costs the
// Pod delete and the finalizer removal. Events are not counted.
package controller
