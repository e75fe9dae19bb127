package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// cleanup applies KubeOpenCodeConfig spec.cleanup to a finished Task: ttlSecondsAfterFinished
// deletes it once expired, maxRetainedTasks deletes the oldest finished Tasks of its namespace
// beyond the limit. The Pod goes with the Task: the garbage collector in the same namespace, the
// finalizer across namespaces.
func (r *TaskReconciler) cleanup(ctx context.Context, task *v1alpha1.Task) (ctrl.Result, error) {
	cfg, err := r.config(ctx)
	if err != nil || cfg == nil || cfg.Spec.Cleanup == nil {
		return ctrl.Result{}, err
	}
	c := cfg.Spec.Cleanup
	var requeue time.Duration
	if ttl := c.TTLSecondsAfterFinished; ttl != nil {
		expires := finishedAt(task).Add(time.Duration(*ttl) * time.Second)
		if left := expires.Sub(r.now()); left > 0 {
			requeue = left
		} else {
			return ctrl.Result{}, r.deleteTask(ctx, task.Namespace, task.Name, task.UID)
		}
	}
	if keep := c.MaxRetainedTasks; keep != nil {
		if err := r.retain(ctx, task.Namespace, int(*keep)); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// retain deletes the oldest finished Tasks of the namespace beyond keep.
func (r *TaskReconciler) retain(ctx context.Context, namespace string, keep int) error {
	tasks := &v1alpha1.TaskList{}
	if err := r.Client.List(ctx, tasks, client.InNamespace(namespace)); err != nil {
		return fmt.Errorf("listing Tasks in %s for maxRetainedTasks: %w", namespace, err)
	}
	var finished []*v1alpha1.Task
	for i := range tasks.Items {
		if t := &tasks.Items[i]; isFinal(t) && t.DeletionTimestamp == nil {
			finished = append(finished, t)
		}
	}
	if len(finished) <= keep {
		return nil
	}
	slices.SortFunc(finished, func(a, b *v1alpha1.Task) int {
		if c := finishedAt(a).Compare(finishedAt(b)); c != 0 {
			return c
		}
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		// Timestamps have a resolution of one second: the name decides ties, deterministically.
		return strings.Compare(a.Name, b.Name)
	})
	for _, t := range finished[:len(finished)-keep] {
		if err := r.deleteTask(ctx, t.Namespace, t.Name, t.UID); err != nil {
			return err
		}
	}
	return nil
}

func finishedAt(t *v1alpha1.Task) time.Time {
	if t.Status.CompletionTime != nil {
		return t.Status.CompletionTime.Time
	}
	return t.CreationTimestamp.Time
}

// deleteTask deletes exactly that Task (a UID precondition: never a newer Task of the same name).
func (r *TaskReconciler) deleteTask(ctx context.Context, ns, name string, uid types.UID) error {
	t := &v1alpha1.Task{}
	t.Namespace, t.Name = ns, name
	if err := r.Client.Delete(ctx, t, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting finished Task %s/%s: %w", ns, name, err)
	}
	return nil
}
