package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// terminateDeadline is the activeDeadlineSeconds a stopped or timed-out Pod is given: already
// past for any Pod that runs, so the kubelet ends it at its next sync.
const terminateDeadline int64 = 1

// terminate ends the Pod of a stopped or timed-out Task (o says which) so that the Pod is kept
// and its logs stay readable by whoever may read the Task's logs. The operator lowers the Pod's
// activeDeadlineSeconds (a patch with the Pod's UID as precondition), and the kubelet stops the
// containers (SIGTERM, then SIGKILL after the grace period) and marks the Pod Failed. The Task
// stays Running, with condition Terminating, until the Pod has ended: then it ends with o and its
// slot is freed (a terminated Pod holds none). A Pod that was never scheduled has nothing to keep
// and is deleted at once; one that has not ended StopGrace after the patch (no kubelet acting on
// it, e.g. an unreachable node) is deleted then, and its logs are lost.
func (r *TaskReconciler) terminate(ctx context.Context, task *v1alpha1.Task, pod *corev1.Pod, o taskpod.Outcome) (ctrl.Result, error) {
	where := pod.Namespace + "/" + pod.Name
	switch {
	case pod.DeletionTimestamp != nil:
		o.Message += fmt.Sprintf("; Pod %s is being deleted", where)
		return r.end(ctx, task, o, pod)
	case !running(pod):
		o.Message += fmt.Sprintf("; Pod %s ended and is kept for its logs", where)
		// What the agent printed before it was stopped is its result, as for any ending.
		return r.end(ctx, task, taskpod.WithResult(o, pod), pod)
	case pod.Spec.NodeName == "":
		o.DeletePod = true
		o.Message += fmt.Sprintf("; Pod %s had not been scheduled and was deleted", where)
		return r.end(ctx, task, o, pod)
	}
	c := meta.FindStatusCondition(task.Status.Conditions, v1alpha1.ConditionTerminating)
	lowered := pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds == terminateDeadline
	if !lowered || c == nil || c.Status != metav1.ConditionTrue {
		if err := r.lowerDeadline(ctx, pod.Namespace, pod.Name, pod.UID); err != nil {
			return ctrl.Result{}, err
		}
		msg := fmt.Sprintf("%s: Pod %s is being terminated (activeDeadlineSeconds lowered to %d); it is kept for its logs",
			o.Message, where, terminateDeadline)
		if err := r.writeStatus(ctx, task, func(st *v1alpha1.TaskStatus) {
			setCondition(st, task.Generation, v1alpha1.ConditionTerminating, metav1.ConditionTrue, o.Reason, msg)
		}); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: r.opts.StopGrace}, nil
	}
	if left := c.LastTransitionTime.Add(r.opts.StopGrace).Sub(r.now()); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	o.DeletePod = true
	o.Message += fmt.Sprintf("; Pod %s did not terminate within %s of its lowered deadline and was deleted", where, r.opts.StopGrace)
	return r.end(ctx, task, o, pod)
}

// lowerDeadline sets the Pod's activeDeadlineSeconds to terminateDeadline, only if the Pod still
// has that UID (a precondition in the patch itself).
func (r *TaskReconciler) lowerDeadline(ctx context.Context, ns, name string, uid types.UID) error {
	patch := fmt.Appendf(nil, `{"metadata":{"uid":%q},"spec":{"activeDeadlineSeconds":%d}}`, uid, terminateDeadline)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := r.Client.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("lowering the activeDeadlineSeconds of Pod %s/%s: %w", ns, name, err)
	}
	return nil
}
