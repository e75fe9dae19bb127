package chaos

import (
	"time"
)

// Kind says what an Object is.
type Kind string

// The kinds the observer records.
const (
	KindPod  Kind = "Pod"
	KindTask Kind = "Task"
)

// EventType says how an Object's state was learnt.
type EventType string

// Event types. Added, Modified and Deleted come from a watch; Relisted and Vanished from the
// list that re-establishes a watch the API server ended (e.g. across its restart), when what
// happened in between was not seen.
const (
	Added    EventType = "Added"
	Modified EventType = "Modified"
	Deleted  EventType = "Deleted"
	// Relisted is an object's state as a relist returned it.
	Relisted EventType = "Relisted"
	// Vanished is an object known before a relist and absent from it: deleted during the gap.
	Vanished EventType = "Vanished"
)

// Phases the checker understands (Pod phases and Task phases share the field).
const (
	PodSucceeded  = "Succeeded"
	PodFailed     = "Failed"
	TaskCompleted = "Completed"
	TaskFailed    = "Failed"
)

// AgentKey names an Agent.
type AgentKey struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (a AgentKey) String() string { return a.Namespace + "/" + a.Name }

// Object is what the checker needs of a Pod or a Task at one moment.
type Object struct {
	Kind      Kind   `json:"kind"`
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// TaskUID is a Pod's kubeopencode.io/task-uid label: the Task it belongs to.
	TaskUID string `json:"taskUID,omitempty"`
	// Task is a Pod's Task as namespace/name (its task-namespace and task-name labels); for
	// reports and for the harness, never for judging ownership.
	Task string `json:"task,omitempty"`
	// Agent is a Pod's Agent (the Pod's namespace, its kubeopencode.io/agent label) or the
	// Agent a Task names in spec.agentRef.
	Agent AgentKey `json:"agent"`
	// Phase is status.phase of the Pod or of the Task.
	Phase string `json:"phase,omitempty"`
	// Deleting: metadata.deletionTimestamp is set.
	Deleting bool `json:"deleting,omitempty"`
}

// Ref is namespace/name.
func (o Object) Ref() string { return o.Namespace + "/" + o.Name }

// podTerminal: the Pod's containers are done; it no longer holds a slot.
func (o Object) podTerminal() bool { return o.Phase == PodSucceeded || o.Phase == PodFailed }

// podCounted: the Pod holds a slot of its Agent (created, not terminal, not being deleted).
func (o Object) podCounted() bool { return !o.podTerminal() && !o.Deleting }

// taskFinal: the Task says it ended.
func (o Object) taskFinal() bool { return o.Phase == TaskCompleted || o.Phase == TaskFailed }

// Event is one observed change.
type Event struct {
	// At is when the harness saw the change (its own clock), not when the API server made it.
	At     time.Time `json:"at"`
	Type   EventType `json:"type"`
	Object Object    `json:"object"`
}

// Gap is a stretch in which a watch was down: changes made then are known only through the
// relist that ended it (an object created and deleted within a gap is not seen at all).
type Gap struct {
	Kind Kind      `json:"kind"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Timeline is everything the observer recorded, in the order it was seen. Each kind comes from
// one watch at a time, so the events of one kind are in the API server's order.
type Timeline struct {
	Events []Event `json:"events"`
	Gaps   []Gap   `json:"gaps,omitempty"`
}
