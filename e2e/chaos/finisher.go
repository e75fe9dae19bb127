package chaos

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Finisher plays the agent's part: a random few seconds after an agent Pod is seen Running it
// writes the Pod's status as the kubelet does when every container exited 0 (phase Succeeded,
// containers terminated with reason Completed). Pods Skip selects keep running (the escapes'
// victims: an agent still at work).
type Finisher struct {
	Kube kubernetes.Interface
	// Min and Max bound the random run time, from the Pod seen Running.
	Min, Max time.Duration
	// Skip, when set, leaves a Pod running.
	Skip func(Object) bool

	ctx      context.Context
	mu       sync.Mutex
	rng      *rand.Rand
	started  map[string]bool
	wg       sync.WaitGroup
	finished atomic.Int64
	failed   atomic.Int64
}

// Start makes OnEvent act until ctx ends; seed makes the run times repeatable.
func (f *Finisher) Start(ctx context.Context, seed uint64) {
	f.ctx, f.rng, f.started = ctx, rand.New(rand.NewPCG(seed, 1)), map[string]bool{}
}

// OnEvent is the Recorder listener.
func (f *Finisher) OnEvent(ev Event) {
	o := ev.Object
	if f.ctx == nil || o.Kind != KindPod || ev.Type == Deleted || ev.Type == Vanished || o.Phase != string(corev1.PodRunning) || o.Deleting {
		return
	}
	if f.Skip != nil && f.Skip(o) {
		return
	}
	f.mu.Lock()
	if f.started[o.UID] {
		f.mu.Unlock()
		return
	}
	f.started[o.UID] = true
	d := f.Min + time.Duration(f.rng.Int64N(int64(f.Max-f.Min)+1))
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		sleep(f.ctx, d)
		if f.finish(o) {
			f.finished.Add(1)
		} else {
			f.failed.Add(1)
		}
	}()
}

// Counts returns how many Pods were finished and how many could not be (gone, deleted, or the
// API server did not answer within two minutes).
func (f *Finisher) Counts() (finished, failed int64) { return f.finished.Load(), f.failed.Load() }

// Wait waits for the pending finishes (they end with the Start context).
func (f *Finisher) Wait() { f.wg.Wait() }

func (f *Finisher) finish(o Object) bool {
	ctx, cancel := context.WithTimeout(f.ctx, 2*time.Minute)
	defer cancel()
	pods := f.Kube.CoreV1().Pods(o.Namespace)
	for ctx.Err() == nil {
		p, err := pods.Get(ctx, o.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return false
		case err != nil:
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		if string(p.UID) != o.UID || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			return false
		}
		Succeed(p, time.Now())
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		switch {
		case err == nil:
			return true
		case apierrors.IsNotFound(err):
			return false
		case !apierrors.IsConflict(err):
			sleep(ctx, 500*time.Millisecond)
		}
	}
	return false
}

// Succeed sets p's status to what the kubelet writes once every container exited 0.
func Succeed(p *corev1.Pod, now time.Time) {
	t := metav1.NewTime(now)
	started := t
	if p.Status.StartTime != nil {
		started = *p.Status.StartTime
	}
	statuses := make([]corev1.ContainerStatus, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
		for _, old := range p.Status.ContainerStatuses {
			if old.Name == c.Name {
				cs = old
			}
		}
		cs.Ready, cs.Started = false, new(false)
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: started, FinishedAt: t}}
		statuses = append(statuses, cs)
	}
	p.Status.ContainerStatuses = statuses
	p.Status.Phase = corev1.PodSucceeded
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			p.Status.Conditions[i].Status, p.Status.Conditions[i].Reason, p.Status.Conditions[i].LastTransitionTime =
				corev1.ConditionFalse, "PodCompleted", t
		}
	}
}
