package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// Cache indexes.
const (
	// indexPodTaskUID indexes the operator's Pods by their Task UID label.
	indexPodTaskUID = "kubeopencode.io/task-uid"
	// indexTaskUID indexes Tasks by metadata.uid, to map a Pod to its Task exactly (label
	// values of long names are hashed; the UID never is).
	indexTaskUID = "metadata.uid"
	// indexTaskAgent indexes Tasks by the Agent their spec names ("namespace/name").
	indexTaskAgent = "spec.agentRef"
)

func registerIndexes(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &corev1.Pod{}, indexPodTaskUID, func(o client.Object) []string {
		if uid := o.GetLabels()[v1alpha1.TaskUIDLabel]; uid != "" {
			return []string{uid}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing Pods by Task UID: %w", err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.Task{}, indexTaskUID, func(o client.Object) []string {
		return []string{string(o.GetUID())}
	}); err != nil {
		return fmt.Errorf("indexing Tasks by UID: %w", err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.Task{}, indexTaskAgent, func(o client.Object) []string {
		return []string{taskAgentKey(o.(*v1alpha1.Task))}
	}); err != nil {
		return fmt.Errorf("indexing Tasks by Agent: %w", err)
	}
	return nil
}

// podToTask maps an operator Pod to its Task: the Task in the Pod's task-namespace label whose
// UID is the Pod's task-uid label. The reconcile checks the UID again before acting.
func (r *TaskReconciler) podToTask(ctx context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	uid, ns := l[v1alpha1.TaskUIDLabel], l[v1alpha1.TaskNamespaceLabel]
	if uid == "" || ns == "" {
		return nil
	}
	tasks := &v1alpha1.TaskList{}
	if err := r.Client.List(ctx, tasks, client.InNamespace(ns), client.MatchingFields{indexTaskUID: uid}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "mapping a Pod to its Task", "pod", o.GetNamespace()+"/"+o.GetName())
		return nil
	}
	return requests(tasks.Items, func(*v1alpha1.Task) bool { return true })
}

// agentToTasks wakes the Tasks of an Agent that wait to start (its limits may have changed).
func (r *TaskReconciler) agentToTasks(ctx context.Context, o client.Object) []reconcile.Request {
	tasks := &v1alpha1.TaskList{}
	if err := r.Client.List(ctx, tasks, client.MatchingFields{indexTaskAgent: agentKey(o.GetNamespace(), o.GetName())}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "mapping an Agent to its Tasks", "agent", o.GetNamespace()+"/"+o.GetName())
		return nil
	}
	return requests(tasks.Items, func(t *v1alpha1.Task) bool {
		return t.Status.Phase == "" || t.Status.Phase == v1alpha1.TaskPhasePending || t.Status.Phase == v1alpha1.TaskPhaseQueued
	})
}

// configToTasks re-checks finished Tasks against a changed cleanup configuration.
func (r *TaskReconciler) configToTasks(ctx context.Context, _ client.Object) []reconcile.Request {
	tasks := &v1alpha1.TaskList{}
	if err := r.Client.List(ctx, tasks); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "mapping KubeOpenCodeConfig to Tasks")
		return nil
	}
	return requests(tasks.Items, isFinal)
}

func requests(tasks []v1alpha1.Task, keep func(*v1alpha1.Task) bool) []reconcile.Request {
	var out []reconcile.Request
	for i := range tasks {
		if keep(&tasks[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&tasks[i])})
		}
	}
	return out
}
