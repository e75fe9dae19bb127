package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// TestPodUpdateMayEndTask: a Pod update reaches the reconciler exactly when its status ends the
// Task; routine updates (bound, running) are dropped.
func TestPodUpdateMayEndTask(t *testing.T) {
	created := metav1.Unix(1000, 0)
	pod := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", CreationTimestamp: created}}
		mut(p)
		return p
	}
	waiting := func(reason string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "agent", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}
		}
	}
	deleted := metav1.Unix(2000, 0)
	cases := map[string]struct {
		pod  *corev1.Pod
		want bool
	}{
		"new, no status": {pod(func(*corev1.Pod) {}), false},
		"bound, pending": {pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), false},
		"unschedulable": {pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
		}), false},
		"running":                {pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }), false},
		"creating container":     {pod(waiting("ContainerCreating")), false},
		"succeeded":              {pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), true},
		"failed":                 {pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), true},
		"being deleted":          {pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning; p.DeletionTimestamp = &deleted }), true},
		"missing Secret":         {pod(waiting("CreateContainerConfigError")), true},
		"image cannot be pulled": {pod(waiting("ImagePullBackOff")), true},
	}
	for name, tc := range cases {
		old := pod(func(*corev1.Pod) {})
		if got := podUpdateMayEndTask.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: tc.pod}); got != tc.want {
			t.Errorf("%s: update passes = %v, want %v", name, got, tc.want)
		}
		if !podUpdateMayEndTask.Create(event.CreateEvent{Object: tc.pod}) || !podUpdateMayEndTask.Delete(event.DeleteEvent{Object: tc.pod}) {
			t.Errorf("%s: a create or delete event was dropped", name)
		}
	}
}
