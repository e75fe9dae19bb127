package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
)

// bindPod plays the scheduler: it binds the Pod to a node (which need not exist in envtest).
func bindPod(t *testing.T, pod *corev1.Pod, node string) {
	t.Helper()
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name},
		Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	if err := env.Client.SubResource("binding").Create(context.Background(), pod, b); err != nil {
		t.Fatalf("binding Pod %s: %v", pod.Name, err)
	}
}

// waitDeadlineLowered waits until the operator lowered the Pod's activeDeadlineSeconds to 1.
func waitDeadlineLowered(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	eventually(t, 30*time.Second, "the Pod's activeDeadlineSeconds lowered", func(ctx context.Context) (bool, error) {
		cur := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			return false, err
		}
		d := cur.Spec.ActiveDeadlineSeconds
		return d != nil && *d == 1, nil
	})
}

// TestStopKeepsTheTerminatedPod: a stop or a timeout ends the agent Pod without deleting it, so
// its logs stay readable: the operator lowers the Pod's activeDeadlineSeconds, the Task stays
// Running (condition Terminating) and keeps its slot until the kubelet has ended the Pod, then
// ends Stopped or TimedOut with the Pod kept. A Pod that does not end within StopGrace (no
// kubelet acts on it) is deleted; one never scheduled is deleted at once.
func TestStopKeepsTheTerminatedPod(t *testing.T) {
	ctx := context.Background()
	agentNS, team := env.Namespace(ctx, t), env.Namespace(ctx, t)
	create(t, agent(agentNS, "agent", func(a *v1alpha1.Agent) {
		a.Spec.AllowedNamespaces = []string{team}
		a.Spec.MaxConcurrentTasks = ptr.To[int32](1)
	}))
	const grace = 3 * time.Second
	startOperator(t, []string{agentNS, team}, func(o *setup.Options) { o.Controller.StopGrace = grace })

	t.Run("stop, the kubelet ends the Pod", func(t *testing.T) {
		tk := task(team, "stopped", agentNS, "agent")
		create(t, tk)
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		bindPod(t, pod, "node-1")
		setPodStatus(t, pod, phase(corev1.PodRunning))
		next := task(team, "next", agentNS, "agent")
		create(t, next)
		waitPhase(t, next, v1alpha1.TaskPhaseQueued)

		stopTask(t, tk)
		waitDeadlineLowered(t, pod)
		got := waitTask(t, tk, "Terminating", func(tk *v1alpha1.Task) bool {
			return meta.IsStatusConditionTrue(tk.Status.Conditions, v1alpha1.ConditionTerminating)
		})
		if got.Status.Phase != v1alpha1.TaskPhaseRunning {
			t.Errorf("phase %s while the Pod terminates, want Running", got.Status.Phase)
		}
		consistently(t, time.Second, "the next Task waits while the stopped Pod still runs", func(ctx context.Context) (bool, error) {
			cur := &v1alpha1.Task{}
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(next), cur)
			return err == nil && cur.Status.Phase == v1alpha1.TaskPhaseQueued, err
		})
		setPodStatus(t, pod, func(s *corev1.PodStatus) {
			s.Phase, s.Reason, s.Message = corev1.PodFailed, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
		})
		got = waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
		if c := succeeded(got); c.Reason != v1alpha1.ReasonStopped || !strings.Contains(c.Message, "kept for its logs") {
			t.Errorf("Succeeded %s: %s; want Stopped, Pod kept", c.Reason, c.Message)
		}
		if !meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionStopped) ||
			meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionTerminating) {
			t.Errorf("conditions after the stop: %+v", got.Status.Conditions)
		}
		if cur := (&corev1.Pod{ObjectMeta: pod.ObjectMeta}); !exists(t, cur) || cur.UID != pod.UID {
			t.Errorf("the stopped Pod was not kept")
		}
		waitPhase(t, next, v1alpha1.TaskPhaseRunning)
		setPodStatus(t, waitPod(t, next), phase(corev1.PodSucceeded))
		waitPhase(t, next, v1alpha1.TaskPhaseCompleted)
	})

	t.Run("timeout, no kubelet: deleted after StopGrace", func(t *testing.T) {
		tk := task(team, "timed-out", agentNS, "agent", func(tk *v1alpha1.Task) {
			tk.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Second}
		})
		create(t, tk)
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		bindPod(t, pod, "node-1")
		setPodStatus(t, pod, phase(corev1.PodRunning))
		waitDeadlineLowered(t, pod)
		got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
		if c := succeeded(got); c.Reason != v1alpha1.ReasonTimedOut || !strings.Contains(c.Message, "did not terminate within") {
			t.Errorf("Succeeded %s: %s; want TimedOut after StopGrace", c.Reason, c.Message)
		}
		waitPodGoing(t, pod) // a bound Pod is deleted gracefully: envtest has no kubelet to confirm
		// Nothing holds its slot now.
		after := task(team, "after-timeout", agentNS, "agent")
		create(t, after)
		waitPhase(t, after, v1alpha1.TaskPhaseRunning)
		setPodStatus(t, waitPod(t, after), phase(corev1.PodSucceeded))
		waitPhase(t, after, v1alpha1.TaskPhaseCompleted)
	})

	t.Run("stop before the Pod was scheduled: deleted at once", func(t *testing.T) {
		tk := task(team, "unscheduled", agentNS, "agent")
		create(t, tk)
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		stopTask(t, tk)
		got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
		if c := succeeded(got); c.Reason != v1alpha1.ReasonStopped || !strings.Contains(c.Message, "had not been scheduled") {
			t.Errorf("Succeeded %s: %s", c.Reason, c.Message)
		}
		waitGone(t, pod)
	})
}
