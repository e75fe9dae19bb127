package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// TestWriteBudget counts the operator's API writes with a wrapped client: a Task's whole life
// without contexts costs at most 4 writes to Tasks and Pods (finalizer, Pod, Running, final
// status), a queued Task one more, deletion 2 (Pod delete, finalizer removal), and no write
// attempt fails. Events are written by their own client and not counted.
func TestWriteBudget(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	log := &writeLog{}
	startOperator(t, []string{ns}, func(o *setup.Options) {
		o.NewClient = func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.New(cfg, opts)
			return &countingClient{Client: c, log: log}, err
		}
	})
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) { a.Spec.MaxConcurrentTasks = ptr.To[int32](1) })
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
	lifecycle := map[string][]string{
		"first":  settle(t, 4, func() []string { return log.of(first, firstPod.Name) }),
		"queued": settle(t, 5, func() []string { return log.of(queued, queuedPod.Name) }),
	}

	for _, tk := range []*v1alpha1.Task{first, queued} {
		if err := env.Client.Delete(ctx, tk); err != nil {
			t.Fatal(err)
		}
		waitGone(t, tk)
	}
	all := map[string][]string{
		"first":  settle(t, 6, func() []string { return log.of(first, firstPod.Name) }),
		"queued": settle(t, 7, func() []string { return log.of(queued, queuedPod.Name) }),
	}
	t.Logf("writes: %v", all)

	want := map[string][]string{
		"first": {"update Task " + ns + "/first", "create Pod " + ns + "/" + firstPod.Name,
			"update Task/status " + ns + "/first", "update Task/status " + ns + "/first"},
		"queued": {"update Task/status " + ns + "/queued", "update Task " + ns + "/queued", "create Pod " + ns + "/" + queuedPod.Name,
			"update Task/status " + ns + "/queued", "update Task/status " + ns + "/queued"},
	}
	if diff := cmp.Diff(want, lifecycle); diff != "" {
		t.Errorf("writes during the lifecycle (-want +got):\n%s", diff)
	}
	for name, w := range want {
		w = append(w, "delete Pod "+ns+"/"+podspec.DNSLabel(name, uidOf(name, first, queued)), "update Task "+ns+"/"+name)
		if diff := cmp.Diff(w, all[name]); diff != "" {
			t.Errorf("writes of %s including deletion (-want +got):\n%s", name, diff)
		}
	}
	if failed := log.failed(); len(failed) > 0 {
		t.Errorf("failed write attempts: %v", failed)
	}
}

func uidOf(name string, tasks ...*v1alpha1.Task) string {
	for _, tk := range tasks {
		if tk.Name == name {
			return string(tk.UID)
		}
	}
	return ""
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
func (l *writeLog) of(tk *v1alpha1.Task, pod string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, w := range l.writes {
		for _, suffix := range []string{" Task " + tk.Namespace + "/" + tk.Name, " Task/status " + tk.Namespace + "/" + tk.Name, " Pod " + tk.Namespace + "/" + pod} {
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
