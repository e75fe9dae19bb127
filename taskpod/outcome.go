package taskpod

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// fatalWaiting are the kubelet's waiting reasons that do not resolve by themselves: a missing
// Secret, ConfigMap key or ServiceAccount (CreateContainerConfigError) or an image that cannot be
// pulled. The Task fails at once with the kubelet's words instead of holding its slot (T6).
var fatalWaiting = map[string]bool{
	"CreateContainerConfigError": true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"ImagePullBackOff":           true,
}

// Outcome is what a Pod's status means for its Task.
type Outcome struct {
	// Done: the Task ends with Phase, Reason and Message.
	Done            bool
	Phase           v1alpha1.TaskPhase
	Reason, Message string
	// DeletePod: the Pod must be deleted first (it would otherwise linger or keep trying).
	DeletePod bool
	// Recheck: nothing happened yet, look again after this long (zero: wait for a Pod event).
	Recheck time.Duration
	// ExitCode and Result: the agent container's exit code and termination message, when it
	// has exited (ExitCode nil otherwise).
	ExitCode *int32
	Result   string
}

// MaxResultBytes bounds Outcome.Result (status.result's maxLength). The kubelet already keeps at
// most 4096 bytes of a termination message; the bound holds even if a kubelet did not.
const MaxResultBytes = 4096

// WithResult adds the agent container's exit code and termination message to o, if it exited.
// The message is what the agent wrote or printed: copied as text, bounded, never interpreted.
func WithResult(o Outcome, pod *corev1.Pod) Outcome {
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		if cs.Name != podspec.AgentContainerName {
			continue
		}
		t := cs.State.Terminated
		if t == nil {
			t = cs.LastTerminationState.Terminated
		}
		if t == nil {
			return o
		}
		code := t.ExitCode
		o.ExitCode = &code
		o.Result = boundResult(t.Message)
	}
	return o
}

// boundResult cuts s to at most MaxResultBytes of valid UTF-8 (invalid bytes become U+FFFD
// first, so the status write cannot fail on them).
func boundResult(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxResultBytes {
		return s
	}
	cut := MaxResultBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// ReadPod interprets a Task's Pod at time now: a Pod with no container started after
// startTimeout has failed to start. It reads only status the kubelet (or the cluster's admins)
// write, never anything the Task's author controls, and reads no clock itself.
func ReadPod(pod *corev1.Pod, now time.Time, startTimeout time.Duration) Outcome {
	where := pod.Namespace + "/" + pod.Name
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return WithResult(Outcome{Done: true, Phase: v1alpha1.TaskPhaseCompleted, Reason: v1alpha1.ReasonAgentSucceeded,
			Message: fmt.Sprintf("the agent in Pod %s exited with status 0", where)}, pod)
	case corev1.PodFailed:
		if pod.Status.Reason == "DeadlineExceeded" {
			return WithResult(Outcome{Done: true, Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonTimedOut,
				Message: fmt.Sprintf("Pod %s exceeded its activeDeadlineSeconds: %s", where, pod.Status.Message)}, pod)
		}
		return WithResult(Outcome{Done: true, Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonAgentFailed,
			Message: fmt.Sprintf("Pod %s failed: %s", where, failureDetail(pod))}, pod)
	}
	if pod.DeletionTimestamp != nil {
		return Outcome{Done: true, Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonPodMissing,
			Message: fmt.Sprintf("the agent Pod %s was deleted before the agent finished", where)}
	}
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil && fatalWaiting[w.Reason] {
			return Outcome{Done: true, DeletePod: true, Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonPodStartFailed,
				Message: fmt.Sprintf("Pod %s cannot start: container %q: %s: %s", where, cs.Name, w.Reason, w.Message)}
		}
	}
	if (pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "") && !anyContainerStarted(statuses) {
		// Nothing started: unschedulable, or stuck creating (e.g. a Secret volume that does not
		// exist, whose mount the kubelet retries forever). Give it startTimeout. Once a container
		// has started the volumes are mounted, and a long init step (a clone) is progress.
		if left := pod.CreationTimestamp.Add(startTimeout).Sub(now); left > 0 {
			return Outcome{Recheck: left}
		}
		return Outcome{Done: true, DeletePod: true, Phase: v1alpha1.TaskPhaseFailed, Reason: v1alpha1.ReasonPodStartFailed,
			Message: fmt.Sprintf("Pod %s did not start within %s: %s", where, startTimeout, pendingDetail(pod))}
	}
	return Outcome{}
}

func anyContainerStarted(statuses []corev1.ContainerStatus) bool {
	for _, cs := range statuses {
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

// pendingDetail says why a Pod has not started, from its conditions and container states.
func pendingDetail(pod *corev1.Pod) string {
	var parts []string
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			parts = append(parts, fmt.Sprintf("unschedulable (%s): %s", c.Reason, c.Message))
		}
	}
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil {
			p := fmt.Sprintf("container %q waiting: %s", cs.Name, w.Reason)
			if w.Message != "" {
				p += ": " + Truncate(w.Message, 512)
			}
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "no status from the kubelet"
	}
	return strings.Join(parts, "; ")
}

// failureDetail names the containers that failed, with their exit codes and reasons.
func failureDetail(pod *corev1.Pod) string {
	var parts []string
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			p := fmt.Sprintf("container %q exited with status %d", cs.Name, t.ExitCode)
			if t.Reason != "" {
				p += " (" + t.Reason + ")"
			}
			if t.Message != "" {
				p += ": " + Truncate(t.Message, 512)
			}
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		if pod.Status.Reason != "" || pod.Status.Message != "" {
			return strings.TrimSpace(pod.Status.Reason + " " + pod.Status.Message)
		}
		return "no container status"
	}
	return strings.Join(parts, "; ")
}

// Truncate shortens s to at most n bytes without splitting a UTF-8 sequence, ending it with "..."
// when it cut: the operator bounds condition messages and Events with it, as ReadPod bounds what
// the kubelet wrote.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
