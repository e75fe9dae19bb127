package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
