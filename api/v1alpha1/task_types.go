package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=tk,categories=kubeopencode
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Succeeded")].reason`
// +kubebuilder:printcolumn:name="Agent",type=string,JSONPath=`.spec.agentRef.name`
// +kubebuilder:printcolumn:name="Agent Namespace",type=string,JSONPath=`.status.agentRef.namespace`
// +kubebuilder:printcolumn:name="Pod",type=string,JSONPath=`.status.podName`
// +kubebuilder:printcolumn:name="Started",type=date,JSONPath=`.status.startTime`
// +kubebuilder:printcolumn:name="Completed",type=date,JSONPath=`.status.completionTime`
// +kubebuilder:printcolumn:name="Exit Code",type=integer,JSONPath=`.status.exitCode`,priority=1
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Task asks an Agent to do one piece of work. Its spec cannot change after creation; to stop a
// Task, set the annotation kubeopencode.io/stop: "true" (or delete it).
type Task struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the Task asks for. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: create a new Task instead"
	Spec TaskSpec `json:"spec"`

	// status is the Task's progress as observed by the operator.
	// +optional
	Status TaskStatus `json:"status,omitempty"`
}

// TaskSpec is what a Task asks for. It needs a description, at least one context, or both.
//
// +kubebuilder:validation:XValidation:rule="has(self.description) || has(self.contexts)",message="a Task needs a description or at least one context"
// +kubebuilder:validation:XValidation:rule="!has(self.agentRef.__namespace__) || !has(self.contexts) || !self.contexts.exists(c, has(c.git) && has(c.git.secretRef))",message="git.secretRef is allowed only when the Task runs in its own namespace (agentRef.namespace unset): Task-supplied Secrets are never sent to another namespace",fieldPath=".contexts"
type TaskSpec struct {
	// description is the prompt: the operator writes it to <workspaceDir>/task.md. 1–65536
	// characters.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Description string `json:"description,omitempty"`

	// contexts are given to the agent after the Agent's own contexts. At most 16; no two
	// mountPaths may be equal or lie under one another. References (ConfigMaps, Secrets)
	// resolve in the Task's namespace only.
	//
	// A Task's files stay in the workspace (threat T20): a mountPath is relative (resolved under
	// the Agent's workspaceDir) or absolute inside workspaceDir; no segment of it may be
	// opencode.json, opencode.jsonc or .opencode (OpenCode's configuration), and a Git context
	// without mountPath may not be named opencode.json or opencode.jsonc (its checkout would be
	// <workspaceDir>/<name>); the API server refuses these. An absolute path outside workspaceDir,
	// or one that is, contains or lies under HOME, the Agent's contexts, credentials or command,
	// fails the Task with reason PathConflict, naming the path.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="!self.exists(c, has(c.mountPath) && ['opencode.json', 'opencode.jsonc', '.opencode'].exists(n, ('/' + c.mountPath + '/').contains('/' + n + '/')))",message="a Task context must not be mounted at OpenCode's configuration: no segment of mountPath may be opencode.json, opencode.jsonc or .opencode"
	// +kubebuilder:validation:XValidation:rule="!self.exists(c, c.type == 'Git' && !has(c.mountPath) && has(c.name) && c.name in ['opencode.json', 'opencode.jsonc'])",message="a Git context without mountPath is checked out at <workspaceDir>/<name>, so a Task's may not be named opencode.json or opencode.jsonc (OpenCode's configuration)"
	// +kubebuilder:validation:XValidation:rule="self.all(a, !has(a.mountPath) || self.exists_one(b, has(b.mountPath) && b.mountPath == a.mountPath))",message="mountPath must be unique within contexts"
	// +kubebuilder:validation:XValidation:rule="!self.exists(a, has(a.mountPath) && self.exists(b, has(b.mountPath) && b.mountPath.startsWith(a.mountPath + '/')))",message="a context mountPath must not lie under another context's mountPath"
	// +kubebuilder:validation:XValidation:rule="self.all(a, !has(a.name) || self.exists_one(b, has(b.name) && b.name == a.name))",message="name must be unique within contexts"
	Contexts []ContextItem `json:"contexts,omitempty"`

	// agentRef names the Agent that runs the Task.
	// +required
	AgentRef AgentReference `json:"agentRef"`

	// timeout bounds how long the agent may run, as a Go duration such as "30m" or "2h30m":
	// positive and at most 24h. Unset: no timeout (the Task runs until the agent exits or it is
	// stopped). On timeout the Pod is deleted and the Task fails with reason TimedOut.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="must be a duration such as 30m or 2h30m (units ns, us, ms, s, m, h)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) > duration('0s') && duration(self) <= duration('24h'))",message="must be positive and at most 24h"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// AgentReference names an Agent.
type AgentReference struct {
	// name of the Agent. A DNS subdomain (RFC 1123), at most 253 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// namespace of the Agent. Unset: the Task's own namespace. Another namespace works only if
	// the Agent's allowedNamespaces matches the Task's namespace. A DNS label (RFC 1123): 1–63
	// characters from [a-z0-9-], starting and ending with a letter or digit.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// TaskPhase is where a Task is in its life.
// +kubebuilder:validation:Enum=Pending;Queued;Running;Completed;Failed
type TaskPhase string

const (
	// TaskPhasePending: accepted, not yet started.
	TaskPhasePending TaskPhase = "Pending"
	// TaskPhaseQueued: waiting for the Agent's maxConcurrentTasks or quota.
	TaskPhaseQueued TaskPhase = "Queued"
	// TaskPhaseRunning: the agent Pod exists.
	TaskPhaseRunning TaskPhase = "Running"
	// TaskPhaseCompleted: the agent exited successfully.
	TaskPhaseCompleted TaskPhase = "Completed"
	// TaskPhaseFailed: the Task ended without success; the Succeeded condition says why.
	TaskPhaseFailed TaskPhase = "Failed"
)

// TaskStatus is the progress of a Task as observed by the operator.
type TaskStatus struct {
	// observedGeneration is the metadata.generation the status describes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is Pending, Queued, Running, Completed or Failed.
	// +optional
	Phase TaskPhase `json:"phase,omitempty"`

	// agentRef is the Agent the Task was resolved to, with its namespace always set.
	// +optional
	AgentRef *AgentReference `json:"agentRef,omitempty"`

	// podName is the name of the agent Pod. Informational only: the operator finds its Pods by
	// the Task's UID label, never by this name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PodName string `json:"podName,omitempty"`

	// podNamespace is the namespace of the agent Pod (the Agent's namespace). Informational only.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	PodNamespace string `json:"podNamespace,omitempty"`

	// startTime is when the agent Pod was created.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the Task reached Completed or Failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// exitCode is the agent container's exit code, once it has exited.
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`

	// result is the agent's termination message: what the agent wrote to /dev/termination-log
	// or, when it exited non-zero without writing there, the tail of its output. It is whatever
	// the agent printed, unchecked; at most 4096 bytes (longer messages are cut at the end).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Result string `json:"result,omitempty"`

	// conditions describe the Task (Queued, Succeeded, Stopped).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// TaskList is a list of Tasks.
type TaskList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the Tasks.
	Items []Task `json:"items"`
}
