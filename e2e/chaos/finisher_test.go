package chaos

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSucceed: the status is what the kubelet writes once every container exited 0: phase
// Succeeded, each container terminated with reason Completed (started when the Pod started),
// Ready and ContainersReady false; other conditions and fields are kept.
func TestSucceed(t *testing.T) {
	start := metav1.NewTime(t0)
	now := t0.Add(3 * time.Second)
	p := &corev1.Pod{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "a:1"}, {Name: "side", Image: "s:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start, PodIP: "10.0.0.7",
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "agent", Image: "a:1", ImageID: "id", Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}}}}},
	}
	Succeed(p, now)
	done := func(name, image, id string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, Image: image, ImageID: id, Started: new(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: start, FinishedAt: metav1.NewTime(now)}}}
	}
	want := corev1.PodStatus{Phase: corev1.PodSucceeded, StartTime: &start, PodIP: "10.0.0.7",
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: metav1.NewTime(now)},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: metav1.NewTime(now)}},
		ContainerStatuses: []corev1.ContainerStatus{done("agent", "a:1", "id"), done("side", "s:1", "")}}
	if d := cmp.Diff(want, p.Status); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
}

// TestAlive: a running process is alive, a reaped one is not, and neither is a zombie.
func TestAlive(t *testing.T) {
	if !alive(os.Getpid()) {
		t.Error("alive(self) = false")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal("starting sleep (coreutils) as a child process:", err)
	}
	pid := cmd.Process.Pid
	if !alive(pid) {
		t.Error("a running child is not alive")
	}
	_ = cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) { // a zombie until reaped: must already read as dead
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Error("a killed, unreaped child (zombie) is alive")
	}
	_ = cmd.Wait()
	if alive(pid) {
		t.Error("a reaped child is alive")
	}
}
