package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
)

// TestWriteBudget counts the operator's API writes with a wrapped client. A same-namespace Task's
// whole life without contexts costs 3 writes to Tasks and Pods (Pod, Running, final status), a
// queued one 4 (Queued first), and its deletion none (the garbage collector deletes the Pod it
// owns). A cross-namespace Task costs one more, the finalizer, and its deletion 2 (Pod delete,
// finalizer removal). No write attempt fails. Events are written by their own client and not
// counted; only the queueing emits one (none for the Pod creation or the success).
func TestWriteBudget(t *testing.T) {
	ctx := context.Background()
	ns, team := env.Namespace(ctx, t), env.Namespace(ctx, t)
	log := &writeLog{}
	startOperator(t, []string{ns, team}, func(o *setup.Options) {
		o.NewClient = func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.New(cfg, opts)
			return &countingClient{Client: c, log: log}, err
		}
	})
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) {
		a.Spec.MaxConcurrentTasks = ptr.To[int32](1)
		a.Spec.AllowedNamespaces = []string{team}
	})
	create(t, ag)

	first := task(ns, "first", ns, ag.Name)
	create(t, first)
	firstPod := waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
	queued := task(ns, "queued", ns, ag.Name)
	create(t, queued)
	waitPhase(t, queued, v1alpha1.TaskPhaseQueued)
	setPodStatus(t, firstPod, phase(corev1.PodSucceeded))
	waitPhase(t, first, v1alpha1.TaskPhaseCompleted)
	queuedPod := waitPod(t, waitPhase(t, queued, v1alpha1.TaskPhaseRunning))
	setPodStatus(t, queuedPod, phase(corev1.PodSucceeded))
	waitPhase(t, queued, v1alpha1.TaskPhaseCompleted)
	cross := task(team, "cross", ns, ag.Name)
	create(t, cross)
	crossPod := waitPod(t, waitPhase(t, cross, v1alpha1.TaskPhaseRunning))
	setPodStatus(t, crossPod, phase(corev1.PodSucceeded))
	waitPhase(t, cross, v1alpha1.TaskPhaseCompleted)
	pods := map[string]*corev1.Pod{"first": firstPod, "queued": queuedPod, "cross": crossPod}
	tasks := map[string]*v1alpha1.Task{"first": first, "queued": queued, "cross": cross}
	lifecycle := map[string][]string{
		"first":  settle(t, 3, func() []string { return log.of(first, firstPod) }),
		"queued": settle(t, 4, func() []string { return log.of(queued, queuedPod) }),
		"cross":  settle(t, 4, func() []string { return log.of(cross, crossPod) }),
	}

	// The cross-namespace Task is deleted last: once its writes are in, the others' would be too.
	for _, name := range []string{"first", "queued", "cross"} {
		if err := env.Client.Delete(ctx, tasks[name]); err != nil {
			t.Fatal(err)
		}
		waitGone(t, tasks[name])
	}
	all := map[string][]string{"cross": settle(t, 6, func() []string { return log.of(cross, crossPod) })}
	all["first"], all["queued"] = log.of(first, firstPod), log.of(queued, queuedPod)
	t.Logf("writes: %v", all)

	want := map[string][]string{
		"first": {"create Pod " + ns + "/" + firstPod.Name, "update Task/status " + ns + "/first", "update Task/status " + ns + "/first"},
		"queued": {"update Task/status " + ns + "/queued", "create Pod " + ns + "/" + queuedPod.Name,
			"update Task/status " + ns + "/queued", "update Task/status " + ns + "/queued"},
		"cross": {"update Task " + team + "/cross", "create Pod " + ns + "/" + crossPod.Name,
			"update Task/status " + team + "/cross", "update Task/status " + team + "/cross"},
	}
	if diff := cmp.Diff(want, lifecycle); diff != "" {
		t.Errorf("writes during the lifecycle (-want +got):\n%s", diff)
	}
	want["cross"] = append(want["cross"], "delete Pod "+ns+"/"+crossPod.Name, "update Task "+team+"/cross")
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("writes including deletion (-want +got):\n%s", diff)
	}
	// Same namespace: the Pods are left to the garbage collector, through their controller owner
	// reference (envtest runs none; e2e scenario 3 proves a real one deletes them).
	for _, name := range []string{"first", "queued"} {
		assertOwnedByTask(t, pods[name], tasks[name])
	}
	if failed := log.failed(); len(failed) > 0 {
		t.Errorf("failed write attempts: %v", failed)
	}
	// Events are for what a human may act on: the queueing, not the routine Pod creation or the
	// success. (Checked last, seconds after those steps: the recorder sends Events asynchronously.)
	waitEvent(t, queued, v1alpha1.ReasonMaxConcurrentTasks)
	for name, tk := range tasks {
		var reasons []string
		for _, e := range taskEvents(t, tk) {
			reasons = append(reasons, e.Reason)
		}
		want := []string(nil)
		if name == "queued" {
			want = []string{v1alpha1.ReasonMaxConcurrentTasks}
		}
		if diff := cmp.Diff(want, reasons); diff != "" {
			t.Errorf("Events regarding Task %s (-want +got):\n%s", name, diff)
		}
	}
}

// assertOwnedByTask checks that the live Pod has exactly one owner reference: the Task, as its
// controller, blocking the Task's foreground deletion, so the garbage collector deletes the Pod
// with the Task.
func assertOwnedByTask(t *testing.T, pod *corev1.Pod, tk *v1alpha1.Task) {
	t.Helper()
	live := &corev1.Pod{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(pod), live); err != nil {
		t.Fatalf("reading Pod %s: %v", pod.Name, err)
	}
	want := []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Task", Name: tk.Name, UID: tk.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if diff := cmp.Diff(want, live.OwnerReferences); diff != "" {
		t.Errorf("owner references of Pod %s (-want +got):\n%s", pod.Name, diff)
	}
}

type write struct {
	what string // "verb Kind namespace/name"
	err  error
}

// settle waits until read returns at least n writes and returns them. The counting client records
// a write after the API server has answered, so a test that already saw the write's effect (a
// phase) can read the log a moment before the record lands.
func settle(t *testing.T, n int, read func() []string) []string {
	t.Helper()
	var got []string
	eventually(t, 10*time.Second, fmt.Sprintf("%d writes recorded", n), func(context.Context) (bool, error) {
		got = read()
		return len(got) >= n, nil
	})
	return got
}

// writeLog records every write the operator's client makes.
type writeLog struct {
	mu     sync.Mutex
	writes []write
}

func (l *writeLog) add(verb string, obj client.Object, sub string, err error) {
	kind := fmt.Sprintf("%T", obj)
	switch obj.(type) {
	case *v1alpha1.Task:
		kind = "Task"
	case *corev1.Pod:
		kind = "Pod"
	case *v1alpha1.Agent:
		kind = "Agent"
	}
	if sub != "" {
		kind += "/" + sub
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, write{what: verb + " " + kind + " " + obj.GetNamespace() + "/" + obj.GetName(), err: err})
}

// of returns the successful writes to the Task and to its Pod, in order.
func (l *writeLog) of(tk *v1alpha1.Task, pod *corev1.Pod) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, w := range l.writes {
		for _, suffix := range []string{" Task " + tk.Namespace + "/" + tk.Name, " Task/status " + tk.Namespace + "/" + tk.Name, " Pod " + pod.Namespace + "/" + pod.Name} {
			if w.err == nil && len(w.what) > len(suffix) && w.what[len(w.what)-len(suffix):] == suffix {
				out = append(out, w.what)
			}
		}
	}
	return out
}

func (l *writeLog) failed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, w := range l.writes {
		if w.err != nil {
			out = append(out, w.what+": "+w.err.Error())
		}
	}
	return out
}

// countingClient records the writes of the client it wraps.
type countingClient struct {
	client.Client
	log *writeLog
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	err := c.Client.Create(ctx, obj, opts...)
	c.log.add("create", obj, "", err)
	return err
}

func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	err := c.Client.Update(ctx, obj, opts...)
	c.log.add("update", obj, "", err)
	return err
}

func (c *countingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	err := c.Client.Patch(ctx, obj, patch, opts...)
	c.log.add("patch", obj, "", err)
	return err
}

func (c *countingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	err := c.Client.Apply(ctx, obj, opts...)
	c.log.mu.Lock()
	c.log.writes = append(c.log.writes, write{what: fmt.Sprintf("apply %T", obj), err: err})
	c.log.mu.Unlock()
	return err
}

func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	err := c.Client.Delete(ctx, obj, opts...)
	c.log.add("delete", obj, "", err)
	return err
}

func (c *countingClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	err := c.Client.DeleteAllOf(ctx, obj, opts...)
	c.log.add("deleteallof", obj, "", err)
	return err
}

func (c *countingClient) Status() client.SubResourceWriter {
	return &countingStatus{SubResourceWriter: c.Client.Status(), log: c.log}
}

type countingStatus struct {
	client.SubResourceWriter
	log *writeLog
}

func (s *countingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	err := s.SubResourceWriter.Update(ctx, obj, opts...)
	s.log.add("update", obj, "status", err)
	return err
}

func (s *countingStatus) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	err := s.SubResourceWriter.Apply(ctx, obj, opts...)
	s.log.mu.Lock()
	s.log.writes = append(s.log.writes, write{what: fmt.Sprintf("apply status %T", obj), err: err})
	s.log.mu.Unlock()
	return err
}

func (s *countingStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	err := s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
	s.log.add("patch", obj, "status", err)
	return err
}
