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
// quota (T7, see ledger), adds the finalizer when the Agent lives in another namespace, creates
// the Pod in the Agent's namespace and follows it to Completed or Failed. The stop annotation and
// spec.timeout end the Pod without deleting it (terminate.go: its activeDeadlineSeconds is
// lowered, the kubelet stops it, the Task stays Running with condition Terminating until the Pod
// has ended, and the Pod is kept for its logs). The stop annotation,
// spec.timeout, a vanished Pod and a Pod that cannot start (CreateContainerConfigError, image
// errors, refused by admission, unschedulable for too long) end the Task with a precise reason
// and free its slot (T5, T6). Every decision sets a condition; what a human may need to act on
// (a refusal, a failure, a stop, a timeout, queueing) also emits an events.k8s.io Event regarding
// the Task, while routine steps (Pod created, agent succeeded) do not: each Event is a write.
//
// # Deletion and ownership
//
// A Task in its Agent's namespace owns its Pod and context ConfigMap (controller owner
// reference with blockOwnerDeletion), so the garbage collector deletes them with it and the Task
// needs no finalizer; its slot stays held until its Pod is being deleted. Across namespaces no
// owner reference can reach the Task: the finalizer kubeopencode.io/cleanup deletes the Pod and
// the context ConfigMap first (T5).
//
// Neither is the guarantee, because Task authors may edit both (T18): a second controller,
// "task-objects" (ownership.go), starts from the objects the operator created. On Pod events and
// Task deletions it finds Pods and context ConfigMaps by the Task-UID label, asks the API server
// whether that Task still exists, and deletes (UID precondition) those whose Task is gone or is
// being deleted without the finalizer: at once when the Task was deleted with propagationPolicy
// Orphan or the object has no owner reference, after gcGrace when the garbage collector should
// delete it. At start, before the first admission, running Pods and context ConfigMaps without a
// live Task are deleted (ensureBuilt). A Task whose status claims a final phase while its Pod
// still runs gets the Pod deleted and its status corrected (InconsistentStatus). A slot is
// released only when the Task's Pod is finished, terminating or gone.
//
// # Memory
//
// Tasks are cached without their payload (TrimTaskForCache, T24): the description, contexts and
// annotations are read from the API server (fullTask) only when the Pod is built or the finalizer
// removed.
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
// # Contexts
//
// The Agent's contexts come first, then the Task's. With a mountPath a context is a file or
// directory there (fileMode, default 0644); without one it is a section of
// <workspaceDir>/.kubeopencode/context.md, for any workspaceDir. Text content, context.md and the
// content of the Task's ConfigMap contexts live in one ConfigMap the operator creates per Task in
// the Agent's namespace, named like the Pod (Task name and UID), labelled with the Task's UID,
// immutable, and owned by the Task when it is in the same namespace (otherwise the finalizer
// deletes it by UID label). A Task's ConfigMaps are read, uncached, in the Task's namespace only
// and copied: an object of the Agent's namespace is never mounted because a Task named it (T3).
// The Agent's own ConfigMaps are mounted directly (with a mountPath) or read into context.md.
// A Runtime context is a section of context.md naming the Task, the Agent, the workspace and the
// variables the agent gets. A Git context is cloned by its own git-clone init container
// ("kubeopencode git-clone" from the system image, hardened like every container) into an
// emptyDir mounted writable at mountPath (default <workspaceDir>/<name>, noted in context.md);
// its Secret holds username and password (HTTPS token) or ssh-privatekey and known_hosts (SSH,
// strict host-key checking), is mounted into that init container only, and the operator binds it
// to the repository's own host with --allowed-host (T13). A Task on another namespace's Agent may
// not name a Git Secret (T3). Every mountPath is checked against the others, the workspace,
// /tools, /kubeopencode, HOME, /tmp, credential files, task.md and .kubeopencode/: a conflict
// fails the Task with PathConflict naming both paths (T11).
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
// Without contexts a same-namespace Task costs three writes to Tasks and Pods: the Pod, the
// Running status and the final status; its deletion costs none. A cross-namespace Task costs one
// more, the finalizer, and its deletion two (the Pod delete, the finalizer removal). A queued
// Task costs one more (Queued). Events are not counted. Contexts that need the context
// ConfigMap (Text, Runtime, a Task's ConfigMap, an Agent ConfigMap or a Git context without
// mountPath) cost one more write, its create; its deletion is free in the same namespace (garbage
// collection) and one more write across namespaces. Git contexts with a mountPath and the Agent's
// mounted ConfigMaps cost nothing.
package controller
