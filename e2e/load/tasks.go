package load

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TaskRun describes one batch of Tasks for the operator.
type TaskRun struct {
	RunID string
	// AgentNamespace and Agent name the Agent; its Pods are created in AgentNamespace.
	AgentNamespace, Agent string
	// TaskNamespaces receive the Tasks round-robin; [AgentNamespace] for same-namespace Tasks.
	TaskNamespaces []string
	// NamePrefix distinguishes batches that share namespaces (e.g. "t-", or "warmup-"); required.
	NamePrefix string
	N          int
	// Workers concurrent create calls (burst); ignored when Rate > 0.
	Workers int
	// Rate > 0 creates Tasks at this fixed rate per second instead of a burst.
	Rate float64
	// Until is the Task phase to wait for after the Pods: "" (none), "Running" (status written,
	// Running or later) or "Completed".
	Until string
}

// TaskResult is what a TaskRun measured.
type TaskResult struct {
	// Pods: from each Task's create call to its Pod observed (the operator's throughput).
	Pods Result `json:"pods"`
	// Completed: from each Task's create call to phase Completed observed, when waited for.
	// Bounded by the scheduler's and kwok's own client rates, not by the operator.
	Completed *Result `json:"completed,omitempty"`
	// Created: from each Task's create call to the API server's answer. The Task creates are
	// the harness's, but they bound what the operator can reach (CRD validation, CEL and the
	// admission policy run on every create).
	Created Result `json:"created"`
	// Failed counts Tasks that ended Failed.
	Failed int `json:"failed,omitempty"`
}

func (r TaskRun) taskKey(i int) string {
	ns := r.TaskNamespaces[i%len(r.TaskNamespaces)]
	return ns + "/" + r.taskName(i)
}

func (r TaskRun) taskName(i int) string {
	return fmt.Sprintf("%s%s-%05d", r.NamePrefix, r.RunID, i)
}

// RunTasks creates the Tasks and waits until the operator created every Pod (and, per Until, the
// Tasks reached a phase), observing both through watches started before the first create.
func RunTasks(ctx context.Context, c *Clients, r TaskRun) (TaskResult, error) {
	if r.NamePrefix == "" || len(r.TaskNamespaces) == 0 {
		return TaskResult{}, fmt.Errorf("TaskRun needs a NamePrefix and TaskNamespaces")
	}
	podKey := func(p *corev1.Pod) string {
		if !strings.HasPrefix(p.Labels[taskNameLabel], r.NamePrefix) {
			return "" // another batch's Pod
		}
		return p.Labels[taskNamespaceLabel] + "/" + p.Labels[taskNameLabel]
	}
	obs, err := observePods(ctx, c.Kube, r.AgentNamespace, managedByLabel+"="+managedByValue, r.N, podKey)
	if err != nil {
		return TaskResult{}, err
	}
	var tobs []*observer
	if r.Until != "" {
		for _, ns := range r.TaskNamespaces {
			want := 0
			for i := range r.N {
				if r.TaskNamespaces[i%len(r.TaskNamespaces)] == ns {
					want++
				}
			}
			o, err := observeTasks(ctx, c, ns, runLabel+"="+r.batch(), r.Until, want)
			if err != nil {
				return TaskResult{}, err
			}
			tobs = append(tobs, o)
		}
	}
	create, created := r.creator(c)
	var started map[string]time.Time
	if r.Rate > 0 {
		started, err = createPaced(ctx, r.N, r.Rate, r.taskKey, create)
	} else {
		started, err = createAll(ctx, r.N, max(r.Workers, 1), r.taskKey, create)
	}
	if err != nil {
		return TaskResult{}, err
	}
	seen, _, err := obs.wait(ctx)
	if err != nil {
		return TaskResult{}, fmt.Errorf("waiting for the operator's Pods: %w", err)
	}
	res := TaskResult{Pods: measure("operator tasks→pods", started, seen), Created: measure("task creates", started, created())}
	if r.Until == "" {
		return res, nil
	}
	reached := map[string]time.Time{}
	for _, o := range tobs {
		got, failed, err := o.wait(ctx)
		if err != nil {
			return res, fmt.Errorf("waiting for Tasks %s: %w", r.Until, err)
		}
		res.Failed += failed
		for k, v := range got {
			reached[k] = v
		}
	}
	if r.Until == "Completed" {
		m := measure("operator tasks→completed", started, reached)
		res.Completed = &m
	}
	return res, nil
}

// creator returns the create call of Task i, and a snapshot of when each create returned.
func (r TaskRun) creator(c *Clients) (create func(context.Context, int) error, created func() map[string]time.Time) {
	var (
		mu   sync.Mutex
		done = make(map[string]time.Time, r.N)
	)
	create = func(ctx context.Context, i int) error {
		ns := r.TaskNamespaces[i%len(r.TaskNamespaces)]
		_, err := c.Dynamic.Resource(TaskResource).Namespace(ns).Create(ctx,
			TaskObject(ns, r.taskName(i), r.AgentNamespace, r.Agent, r.batch()), metav1.CreateOptions{})
		if err == nil {
			at := time.Now()
			mu.Lock()
			done[r.taskKey(i)] = at
			mu.Unlock()
		}
		return err
	}
	created = func() map[string]time.Time {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(done)
	}
	return create, created
}

// RunTaskCreates creates the batch's Tasks while no operator runs, measures each create call
// (the API server's own cost of a Task: CRD validation, CEL, the admission policy), then deletes
// them and waits until they are gone. It is the ceiling for the operator's Task throughput in
// the same run: the operator cannot turn Tasks into Pods faster than they can be created.
func RunTaskCreates(ctx context.Context, c *Clients, r TaskRun) (Result, error) {
	if r.NamePrefix == "" || len(r.TaskNamespaces) == 0 {
		return Result{}, fmt.Errorf("TaskRun needs a NamePrefix and TaskNamespaces")
	}
	create, created := r.creator(c)
	started, err := createAll(ctx, r.N, max(r.Workers, 1), r.taskKey, create)
	res := measure("task creates without an operator", started, created())
	namespaces := slices.Compact(slices.Sorted(slices.Values(r.TaskNamespaces)))
	sel := metav1.ListOptions{LabelSelector: runLabel + "=" + r.batch()}
	for _, ns := range namespaces {
		if derr := c.Dynamic.Resource(TaskResource).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); derr != nil {
			return res, errors.Join(err, fmt.Errorf("deleting the ceiling Tasks in %s: %w", ns, derr))
		}
	}
	if err != nil {
		return res, err
	}
	for _, ns := range namespaces {
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			l, err := c.Dynamic.Resource(TaskResource).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.LabelSelector, Limit: 1})
			return err == nil && len(l.Items) == 0, nil
		})
		if err != nil {
			return res, fmt.Errorf("the ceiling Tasks in %s are still there: %w", ns, err)
		}
	}
	return res, nil
}

// batch is the run label value of this batch's Tasks.
func (r TaskRun) batch() string { return r.NamePrefix + r.RunID }

// createPaced calls create(i) for i in [0, n) at a fixed rate, each call in its own goroutine so
// a slow call never delays the schedule, and records when each call started.
func createPaced(ctx context.Context, n int, rate float64, keyOf func(int) string, create func(context.Context, int) error) (map[string]time.Time, error) {
	var (
		mu      sync.Mutex
		started = make(map[string]time.Time, n)
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	interval := time.Duration(float64(time.Second) / rate)
	begin := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		at := time.Now()
		mu.Lock()
		started[keyOf(i)] = at
		mu.Unlock()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := create(ctx, i); err != nil {
				errOnce.Do(func() { first = fmt.Errorf("create %d: %w", i, err); cancel() })
			}
		}(i)
	}
	wg.Wait()
	return started, first
}
