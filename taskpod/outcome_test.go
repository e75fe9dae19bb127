package taskpod

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
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
			o := ReadPod(pod, created.Add(tc.age), timeout)
			if o.Done != tc.done || o.Reason != tc.reason || !strings.Contains(o.Message, tc.text) {
				t.Errorf("ReadPod = done %v reason %q message %q; want done %v reason %q containing %q", o.Done, o.Reason, o.Message, tc.done, tc.reason, tc.text)
			}
		})
	}
}

// TestReadPodResult: the agent container's exit code and termination message become the
// outcome's result, bounded to MaxResultBytes of valid UTF-8; other containers' messages never do.
func TestReadPodResult(t *testing.T) {
	term := func(name string, code int32, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: msg}}}
	}
	long := strings.Repeat("a", MaxResultBytes-1) + "é" // the 2-byte rune straddles the bound
	cases := []struct {
		name     string
		status   corev1.PodStatus
		wantCode *int32
		want     string
	}{
		{name: "succeeded with a result", status: corev1.PodStatus{Phase: corev1.PodSucceeded,
			ContainerStatuses: []corev1.ContainerStatus{term("agent", 0, "PR opened: #12")}}, wantCode: ptrTo[int32](0), want: "PR opened: #12"},
		{name: "failed, tail of output", status: corev1.PodStatus{Phase: corev1.PodFailed,
			ContainerStatuses: []corev1.ContainerStatus{term("agent", 2, "panic: boom\n")}}, wantCode: ptrTo[int32](2), want: "panic: boom\n"},
		{name: "sidecar message ignored", status: corev1.PodStatus{Phase: corev1.PodSucceeded,
			InitContainerStatuses: []corev1.ContainerStatus{term("agent-init", 0, "init says")},
			ContainerStatuses:     []corev1.ContainerStatus{term("proxy", 0, "not the agent")}}},
		{name: "killed at the deadline, never started", status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}},
		{name: "cut on a rune boundary", status: corev1.PodStatus{Phase: corev1.PodSucceeded,
			ContainerStatuses: []corev1.ContainerStatus{term("agent", 0, long)}}, wantCode: ptrTo[int32](0), want: strings.Repeat("a", MaxResultBytes-1)},
		{name: "invalid UTF-8 replaced", status: corev1.PodStatus{Phase: corev1.PodSucceeded,
			ContainerStatuses: []corev1.ContainerStatus{term("agent", 0, "ok\xff")}}, wantCode: ptrTo[int32](0), want: "ok\uFFFD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Status: tc.status}
			o := ReadPod(pod, time.Now(), time.Minute)
			if diff := cmp.Diff(tc.wantCode, o.ExitCode); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			if o.Result != tc.want {
				t.Errorf("result = %.40q… (%d bytes), want %.40q… (%d bytes)", o.Result, len(o.Result), tc.want, len(tc.want))
			}
			if len(o.Result) > MaxResultBytes || !utf8.ValidString(o.Result) {
				t.Errorf("result is %d bytes, valid UTF-8 %v", len(o.Result), utf8.ValidString(o.Result))
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// FuzzBoundResult: whatever the kubelet hands over, the result fits the CRD (at most
// MaxResultBytes, valid UTF-8) and is a prefix of the message with invalid bytes replaced.
func FuzzBoundResult(f *testing.F) {
	f.Add("PR opened")
	f.Add(strings.Repeat("é", 3000))
	f.Add("\xff\xfe" + strings.Repeat("a", 5000))
	f.Fuzz(func(t *testing.T, s string) {
		got := boundResult(s)
		if len(got) > MaxResultBytes || !utf8.ValidString(got) {
			t.Fatalf("boundResult: %d bytes, valid %v", len(got), utf8.ValidString(got))
		}
		if clean := strings.ToValidUTF8(s, "\uFFFD"); !strings.HasPrefix(clean, got) || (len(clean) <= MaxResultBytes && got != clean) {
			t.Fatalf("boundResult(%q) = %q", s, got)
		}
	})
}
