package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// ensureBuilt rebuilds the capacity ledger once, before anything else runs, and deletes the
// running Pods and the context ConfigMaps whose Task no longer exists (an operator that was down
// while a Task was deleted without its finalizer). Until it succeeds nothing is admitted.
func (r *TaskReconciler) ensureBuilt(ctx context.Context) error {
	if r.built.Load() {
		return nil
	}
	r.buildMu.Lock()
	defer r.buildMu.Unlock()
	if r.built.Load() {
		return nil
	}
	orphans, err := r.ledger.build(ctx, r.Client)
	if err != nil {
		return err
	}
	log := logf.FromContext(ctx)
	for _, p := range orphans {
		uid := types.UID(p.Labels[v1alpha1.TaskUIDLabel])
		live, err := r.liveTaskByUID(ctx, p.Labels[v1alpha1.TaskNamespaceLabel], p.Labels[v1alpha1.TaskNameLabel], uid)
		if err != nil {
			return err
		}
		if live != nil && p.Namespace == agentNamespace(live) {
			// The Task cache lags behind the API server: the Pod is the Task's and holds a slot.
			r.ledger.holdFor(live)
			continue
		}
		if live != nil && live.DeletionTimestamp == nil {
			continue // not where this Task's Pod lives: not the Task's Pod, left alone (T4)
		}
		if !derivedFromItsLabels(p) {
			continue // not a Pod the operator made: left alone (T4)
		}
		if err := r.deletePod(ctx, p.Namespace, p.Name, p.UID); err != nil {
			return err
		}
		log.Info("deleted a running agent Pod whose Task is gone (found at start)", "pod", p.Namespace+"/"+p.Name, "taskUID", uid)
	}
	if err := r.deleteOrphanConfigMaps(ctx); err != nil {
		return err
	}
	r.built.Store(true)
	return nil
}

// deleteOrphanConfigMaps deletes, at start, the operator's context ConfigMaps whose Task no
// longer exists. While running, the ownership controller finds them through Task deletions.
func (r *TaskReconciler) deleteOrphanConfigMaps(ctx context.Context) error {
	namespaces := r.opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
		if err := r.APIReader.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue}); err != nil {
			return fmt.Errorf("listing the operator's ConfigMaps: %w", err)
		}
		for i := range list.Items {
			m := &list.Items[i]
			uid := types.UID(m.Labels[v1alpha1.TaskUIDLabel])
			if uid == "" || m.DeletionTimestamp != nil {
				continue
			}
			cached, err := r.cachedTaskByUID(ctx, uid)
			if err != nil {
				return err
			}
			if cached != nil {
				continue
			}
			if !derivedFromItsLabels(m) || metav1.IsControlledBy(m, &metav1.ObjectMeta{UID: uid}) {
				continue // the garbage collector's: its owner reference names the Task
			}
			live, err := r.liveTaskByUID(ctx, m.Labels[v1alpha1.TaskNamespaceLabel], m.Labels[v1alpha1.TaskNameLabel], uid)
			if err != nil {
				return err
			}
			if live != nil {
				continue
			}
			if err := r.deleteConfigMap(ctx, m.Namespace, m.Name, m.UID); err != nil {
				return err
			}
			logf.FromContext(ctx).Info("deleted a context ConfigMap whose Task is gone (found at start)", "configMap", m.Namespace+"/"+m.Name, "taskUID", uid)
		}
	}
	return nil
}

// fullTask reads the whole Task from the API server. The cache keeps Tasks without their payload
// (description, contexts; see TrimTaskForCache), so building a Pod or updating the Task's
// metadata needs the stored object. It returns nil when the Task is gone or was replaced.
func (r *TaskReconciler) fullTask(ctx context.Context, cached *v1alpha1.Task) (*v1alpha1.Task, error) {
	t := &v1alpha1.Task{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cached), t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading Task %s/%s: %w", cached.Namespace, cached.Name, err)
	}
	if t.UID != cached.UID {
		return nil, nil
	}
	return t, nil
}

// stopOutlivingPod makes a final Task's claim true (T18): if a Pod of the Task still runs, which
// the operator never leaves behind when it ends a Task itself (it deletes the Pod first, or the
// Pod had finished), the status was written by someone else. The Pod is deleted, the status is
// corrected to Failed with reason InconsistentStatus, and an Event says so. The live Pod is asked
// for before acting, because the cache may not show the operator's own delete yet.
func (r *TaskReconciler) stopOutlivingPod(ctx context.Context, task *v1alpha1.Task) error {
	cached, err := r.findPod(ctx, task)
	if err != nil {
		return err
	}
	if cached == nil && !r.ledger.holds(task.UID) {
		return nil // no Pod, and no slot: nothing can run
	}
	if cached != nil && !running(cached) {
		return nil
	}
	live := &corev1.Pod{}
	key := types.NamespacedName{Namespace: agentNamespace(task), Name: podName(task)}
	if err := r.APIReader.Get(ctx, key, live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading Pod %s: %w", key, err)
	}
	if !ownedBy(live, task) || !running(live) {
		return nil
	}
	if err := r.deletePod(ctx, live.Namespace, live.Name, live.UID); err != nil {
		return err
	}
	r.created.drop(task.UID)
	claimed := task.Status.Phase
	msg := fmt.Sprintf("status.phase said %s while the agent Pod %s/%s was still running (the operator did not write it); the Pod was deleted",
		claimed, live.Namespace, live.Name)
	now := metav1.NewTime(r.now())
	if err := r.writeStatus(ctx, task, func(st *v1alpha1.TaskStatus) {
		st.Phase = v1alpha1.TaskPhaseFailed
		st.CompletionTime = &now
		setCondition(st, task.Generation, v1alpha1.ConditionSucceeded, metav1.ConditionFalse, v1alpha1.ReasonInconsistentStatus, msg)
	}); err != nil {
		// The Pod is deleted either way; the next reconcile writes the status again.
		logf.FromContext(ctx).Error(err, "correcting the status of a Task whose Pod outlived its final phase")
	}
	r.event(task, corev1.EventTypeWarning, v1alpha1.ReasonInconsistentStatus, "Stop", msg)
	logf.FromContext(ctx).Info("deleted the running Pod of a Task whose status claimed it was final", "pod", live.Namespace+"/"+live.Name, "claimed", claimed)
	return nil
}

// finalize handles a Task being deleted. With the operator's finalizer (cross-namespace Tasks,
// T5) it deletes the Task's Pod and context ConfigMap wherever they live, then removes the
// finalizer. Without it (same-namespace Tasks, or a finalizer stripped by a user) the garbage
// collector and the ownership controller delete them; either way the slot is released only once
// no Pod of the Task runs (T18).
func (r *TaskReconciler) finalize(ctx context.Context, task *v1alpha1.Task) (ctrl.Result, error) {
	r.ledger.forget(task)
	r.created.drop(task.UID)
	if !controllerutil.ContainsFinalizer(task, Finalizer) {
		return r.releaseWhenNoPodRuns(ctx, task.UID)
	}
	live, ours, err := r.livePod(ctx, task)
	if err != nil {
		return ctrl.Result{}, err
	}
	if live != nil && ours {
		if err := r.deletePod(ctx, live.Namespace, live.Name, live.UID); err != nil {
			return ctrl.Result{}, err
		}
	}
	if agentNamespace(task) != task.Namespace {
		// Across namespaces no owner reference can reach the Task: the finalizer deletes the
		// context ConfigMap (same namespace: the garbage collector, through its owner reference).
		if err := r.deleteContextConfigMaps(ctx, task); err != nil {
			return ctrl.Result{}, err
		}
	}
	// The Pod is gone or going: its slot is free.
	r.wakeAll(r.ledger.release(task.UID))
	// The cached Task has no payload: the update is made on the stored object.
	full, err := r.fullTask(ctx, task)
	if err != nil || full == nil {
		return ctrl.Result{}, err
	}
	before := full.ResourceVersion
	if !controllerutil.RemoveFinalizer(full, Finalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.Client.Update(ctx, full); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("removing the finalizer of Task %s/%s: %w", task.Namespace, task.Name, err)
	}
	r.ledger.superseded(task.UID, before)
	r.ledger.superseded(task.UID, task.ResourceVersion)
	return ctrl.Result{}, nil
}

// gone handles a Task that no longer exists: its slot stays held while a Pod with its UID still
// runs (the garbage collector or the ownership controller deletes it), and is released then.
func (r *TaskReconciler) gone(ctx context.Context, nn types.NamespacedName) (ctrl.Result, error) {
	uid, ok := r.ledger.heldBy(nn)
	if !ok {
		r.wakeAll(r.ledger.releaseKey(nn))
		return ctrl.Result{}, nil
	}
	return r.releaseWhenNoPodRuns(ctx, uid)
}

// releaseWhenNoPodRuns releases the Task's slot when no cached Pod with its UID runs, and
// otherwise looks again shortly.
func (r *TaskReconciler) releaseWhenNoPodRuns(ctx context.Context, uid types.UID) (ctrl.Result, error) {
	pods, err := r.podsByUID(ctx, "", uid)
	if err != nil {
		return ctrl.Result{}, err
	}
	for i := range pods {
		if running(&pods[i]) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
	}
	r.wakeAll(r.ledger.release(uid))
	return ctrl.Result{}, nil
}
