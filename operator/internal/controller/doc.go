// Package controller holds the reference operator's reconcilers: TaskReconciler runs each Task as
// an agent Pod in its Agent's namespace and follows it to the end; AgentReconciler reports whether
// an Agent can be used as written. They wire taskpod (the pure Task→Pod translation) and the
// libraries (api, policy, podspec, credentials) and add only what needs the API server: resolving
// objects, capacity, status, Events and cleanup.
//
// # Task lifecycle
//
// Reconcile resolves the Agent (spec.agentRef, never status), checks the Agent's namespace policy
// (T1), builds the Pod with taskpod, judges it against Pod Security "restricted" (T8; a failing
// Pod is never created, the Task fails), admits it against maxConcurrentTasks and
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
// The Pod and the Task's context ConfigMap are built by taskpod.Build, which does no I/O (its
// package documentation says what the agent gets and how contexts become files, context.md and
// git-clone init containers). The operator reads what Build needs: the Agent (spec.agentRef,
// never status), KubeOpenCodeConfig "cluster", and, uncached, the ConfigMaps
// taskpod.ConfigMapsToRead names — a Task's only ever in the Task's namespace (T3), the Agent's in
// the Agent's. It then applies Options.MutatePod (tests only), judges the Pod (T8) and creates
// the context ConfigMap before the Pod. A *taskpod.Error fails the Task with its Reason and
// message (the Agent's details only for a Task of the Agent's namespace); the AgentReconciler
// builds a Pod for taskpod.ValidationTask to fill the Agent's Ready condition.
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
