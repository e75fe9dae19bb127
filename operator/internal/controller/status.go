package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// Finalizer is the operator's finalizer on Tasks whose Agent lives in another namespace: it
// deletes the agent Pod there before the Task goes away (threat T5). A same-namespace Task owns
// its Pod instead and needs none.
const Finalizer = "kubeopencode.io/cleanup"

// maxConditionMessage keeps condition messages well below the API limit (32768).
const maxConditionMessage = 4096

// isFinal reports whether the Task reached Completed or Failed.
func isFinal(t *v1alpha1.Task) bool {
	return t.Status.Phase == v1alpha1.TaskPhaseCompleted || t.Status.Phase == v1alpha1.TaskPhaseFailed
}

// agentNamespace is where the Task's Agent, and therefore its Pod, lives: spec.agentRef.namespace,
// or the Task's own namespace. It is computed from the immutable spec, never read from status.
func agentNamespace(t *v1alpha1.Task) string {
	if t.Spec.AgentRef.Namespace != "" {
		return t.Spec.AgentRef.Namespace
	}
	return t.Namespace
}

// podName is the only name the operator ever gives the Task's Pod (podspec derives it the same
// way): deterministic, and unique per Task UID (T4).
func podName(t *v1alpha1.Task) string { return taskpod.PodName(t) }

// ownedBy reports whether obj carries the Task's UID label: the only proof of ownership the
// operator accepts (T4, T15).
func ownedBy(obj metav1.Object, t *v1alpha1.Task) bool {
	l := obj.GetLabels()
	return l[v1alpha1.ManagedByLabel] == v1alpha1.ManagedByValue && l[v1alpha1.TaskUIDLabel] == string(t.UID)
}

// writeStatus applies change to the Task's status and updates it (optimistic concurrency: a
// conflict means the cache was behind, and the Task is reconciled again).
func (r *TaskReconciler) writeStatus(ctx context.Context, t *v1alpha1.Task, change func(*v1alpha1.TaskStatus)) error {
	before := t.ResourceVersion
	t.Status.ObservedGeneration = t.Generation
	change(&t.Status)
	if err := r.Client.Status().Update(ctx, t); err != nil {
		return fmt.Errorf("updating the status of Task %s/%s: %w", t.Namespace, t.Name, err)
	}
	r.ledger.superseded(t.UID, before)
	return nil
}

func setCondition(st *v1alpha1.TaskStatus, gen int64, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: truncate(message, maxConditionMessage), ObservedGeneration: gen,
	})
}

// resolvedAgent is status.agentRef: the Agent with its namespace always set.
func resolvedAgent(t *v1alpha1.Task) *v1alpha1.AgentReference {
	return &v1alpha1.AgentReference{Name: t.Spec.AgentRef.Name, Namespace: agentNamespace(t)}
}

// eventType of an ending: Normal for a stop somebody asked for, Warning for everything else
// (success emits no Event).
func eventType(reason string) string {
	if reason == v1alpha1.ReasonStopped {
		return corev1.EventTypeNormal
	}
	return corev1.EventTypeWarning
}

// truncate is taskpod.Truncate: one rule for every message the operator bounds.
func truncate(s string, n int) string { return taskpod.Truncate(s, n) }
