package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
)

// TestT6PodThatCannotRun: a Pod that vanishes or never starts (missing Secret, image that cannot
// be pulled, refused by admission, unschedulable for too long) fails its Task with a precise
// reason and frees the slot: the Task queued behind it on an Agent with maxConcurrentTasks 1
// gets its turn.
func TestT6PodThatCannotRun(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	quotaNS := env.Namespace(ctx, t)
	// Admission refuses every Pod in quotaNS: a ResourceQuota whose status allows no Pods.
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: quotaNS, Name: "no-pods"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}}
	create(t, quota)
	quota.Status = corev1.ResourceQuotaStatus{Hard: quota.Spec.Hard, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}
	if err := env.Client.Status().Update(ctx, quota); err != nil {
		t.Fatal(err)
	}
	startOperator(t, []string{agentNS, quotaNS}, func(o *setup.Options) { o.Controller.PodStartTimeout = 2 * time.Second })

	waiting := func(container, reason, message string) func(*corev1.PodStatus) {
		return func(s *corev1.PodStatus) {
			s.Phase = corev1.PodPending
			st := corev1.ContainerStatus{Name: container, Image: "x", State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}
			if container == "agent" {
				s.ContainerStatuses = []corev1.ContainerStatus{st}
			} else {
				s.InitContainerStatuses = []corev1.ContainerStatus{st}
			}
		}
	}
	cases := []struct {
		name       string
		ns         string
		kubelet    func(t *testing.T, pod *corev1.Pod) // nil: no Pod is expected
		reason     string
		message    string
		podDeleted bool
	}{
		{
			name: "missing Secret (CreateContainerConfigError)", ns: agentNS,
			kubelet: func(t *testing.T, pod *corev1.Pod) {
				setPodStatus(t, pod, waiting("agent", "CreateContainerConfigError", `secret "api-key" not found`))
			},
			reason: v1alpha1.ReasonPodStartFailed, message: `CreateContainerConfigError: secret "api-key" not found`, podDeleted: true,
		},
		{
			name: "image that cannot be pulled", ns: agentNS,
			kubelet: func(t *testing.T, pod *corev1.Pod) {
				setPodStatus(t, pod, waiting("agent-init", "ImagePullBackOff", `Back-off pulling image "example.com/missing:1"`))
			},
			reason: v1alpha1.ReasonPodStartFailed, message: `"agent-init": ImagePullBackOff`, podDeleted: true,
		},
		{
			name: "unschedulable for longer than the start timeout", ns: agentNS,
			kubelet: func(t *testing.T, pod *corev1.Pod) {
				setPodStatus(t, pod, func(s *corev1.PodStatus) {
					s.Phase = corev1.PodPending
					s.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
						Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available", LastTransitionTime: metav1.Now()}}
				})
			},
			reason: v1alpha1.ReasonPodStartFailed, message: "unschedulable (Unschedulable): 0/3 nodes are available", podDeleted: true,
		},
		{
			name: "stuck creating (a Secret volume that does not exist)", ns: agentNS,
			kubelet: func(t *testing.T, pod *corev1.Pod) {
				setPodStatus(t, pod, waiting("agent-init", "PodInitializing", ""))
			},
			reason: v1alpha1.ReasonPodStartFailed, message: `did not start within 2s: container "agent-init" waiting: PodInitializing`, podDeleted: true,
		},
		{
			name: "Pod vanished", ns: agentNS,
			kubelet: func(t *testing.T, pod *corev1.Pod) {
				setPodStatus(t, pod, phase(corev1.PodRunning))
				if err := env.Client.Delete(ctx, pod); err != nil {
					t.Fatal(err)
				}
			},
			reason: v1alpha1.ReasonPodMissing, message: "before the agent finished",
		},
		{
			name: "agent exited non-zero", ns: agentNS,
			kubelet: func(t *testing.T, pod *corev1.Pod) {
				setPodStatus(t, pod, func(s *corev1.PodStatus) {
					s.Phase = corev1.PodFailed
					s.ContainerStatuses = []corev1.ContainerStatus{{Name: "agent", Image: "x", State: corev1.ContainerState{
						Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}}}
				})
			},
			reason: v1alpha1.ReasonAgentFailed, message: `container "agent" exited with status 3`,
		},
		{
			name: "Pod refused by admission", ns: quotaNS,
			reason: v1alpha1.ReasonPodStartFailed, message: "exceeded quota",
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ag := agent(tc.ns, "agent-"+string(rune('a'+i)), func(a *v1alpha1.Agent) { a.Spec.MaxConcurrentTasks = ptr.To[int32](1) })
			create(t, ag)
			first := task(tc.ns, ag.Name+"-first", tc.ns, ag.Name)
			create(t, first)
			var pod *corev1.Pod
			if tc.kubelet != nil {
				pod = waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
				next := task(tc.ns, ag.Name+"-next", tc.ns, ag.Name)
				create(t, next)
				waitPhase(t, next, v1alpha1.TaskPhaseQueued)
				tc.kubelet(t, pod)
				defer func() {
					// The slot is free: the queued Task runs.
					waitPod(t, waitPhase(t, next, v1alpha1.TaskPhaseRunning))
				}()
			}
			got := waitPhase(t, first, v1alpha1.TaskPhaseFailed)
			c := succeeded(got)
			if c.Reason != tc.reason || !strings.Contains(c.Message, tc.message) {
				t.Errorf("Succeeded = %s %q, want reason %s with %q", c.Reason, c.Message, tc.reason, tc.message)
			}
			if ev := waitEvent(t, got, tc.reason); !strings.Contains(ev.Note, tc.message) {
				t.Errorf("Event note %q does not contain %q", ev.Note, tc.message)
			}
			if tc.podDeleted {
				waitGone(t, pod)
			}
		})
	}
}
