package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestReadPod pins how Pod status maps to a Task's end (T6).
func TestReadPod(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const timeout = 10 * time.Minute
	waiting := func(reason string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "agent", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
	}
	cases := []struct {
		name   string
		status corev1.PodStatus
		age    time.Duration
		done   bool
		reason string
		text   string
	}{
		{name: "succeeded", status: corev1.PodStatus{Phase: corev1.PodSucceeded}, done: true, reason: v1alpha1.ReasonAgentSucceeded},
		{name: "deadline exceeded", status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}, done: true, reason: v1alpha1.ReasonTimedOut},
		{name: "evicted", status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low memory"}, done: true,
			reason: v1alpha1.ReasonAgentFailed, text: "Evicted low memory"},
		{name: "config error", status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("CreateContainerConfigError")}},
			done: true, reason: v1alpha1.ReasonPodStartFailed},
		{name: "pulling, young", status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("ErrImagePull")}}, age: time.Minute},
		{name: "nothing started, old", status: corev1.PodStatus{Phase: corev1.PodPending}, age: timeout, done: true,
			reason: v1alpha1.ReasonPodStartFailed, text: "no status from the kubelet"},
		{name: "long init step, old", age: 2 * timeout, status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
			{Name: "git", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}},
		{name: "running, old", status: corev1.PodStatus{Phase: corev1.PodRunning}, age: 2 * timeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", CreationTimestamp: metav1.NewTime(created)}, Status: tc.status}
			o := readPod(pod, created.Add(tc.age), timeout)
			if o.done != tc.done || o.reason != tc.reason || !strings.Contains(o.message, tc.text) {
				t.Errorf("readPod = done %v reason %q message %q; want done %v reason %q containing %q", o.done, o.reason, o.message, tc.done, tc.reason, tc.text)
			}
		})
	}
}

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
