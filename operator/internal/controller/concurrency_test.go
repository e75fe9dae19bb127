package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestT7ConcurrencyUnderBurst: 50 Tasks created at once from 5 namespaces on an Agent with
// maxConcurrentTasks 3, reconciled by 8 workers: never more than 3 agent Pods are active at any
// resourceVersion, the limit is reached, queued Tasks say why, and all 50 complete.
func TestT7ConcurrencyUnderBurst(t *testing.T) {
	const limit, perNS = 3, 10
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	teams := make([]string, 5)
	for i := range teams {
		teams[i] = env.Namespace(ctx, t)
	}
	ag := agent(agentNS, "agent", func(a *v1alpha1.Agent) {
		a.Spec.AllowedNamespaces = teams
		a.Spec.MaxConcurrentTasks = ptr.To[int32](limit)
	})
	create(t, ag)
	startOperator(t, append([]string{agentNS}, teams...))
	k := startKubelet(t, agentNS, 20*time.Millisecond)
	// No agent finishes until every Task of the burst has been decided: exactly the limit runs,
	// the rest is queued.
	k.pause(true)
	tasks := burst(t, teams, perNS, agentNS, ag.Name)
	eventually(t, 60*time.Second, "every Task of the burst to be decided", func(ctx context.Context) (bool, error) {
		running, queued := 0, 0
		for _, tk := range tasks {
			got := &v1alpha1.Task{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
				return false, err
			}
			switch got.Status.Phase {
			case v1alpha1.TaskPhaseRunning:
				running++
			case v1alpha1.TaskPhaseQueued:
				queued++
			}
		}
		if running > limit {
			return false, fmt.Errorf("%d Tasks are Running, limit %d", running, limit)
		}
		return running == limit && queued == len(tasks)-limit, nil
	})
	k.pause(false)
	waitAllFinal(t, tasks, 60*time.Second)

	maxActive, seen, err := k.stats()
	if err != nil {
		t.Fatal(err)
	}
	if maxActive > limit {
		t.Errorf("%d agent Pods were active at once, limit %d", maxActive, limit)
	}
	if maxActive < limit {
		t.Errorf("at most %d agent Pods were active at once: the burst never reached the limit %d, so it proved nothing", maxActive, limit)
	}
	if seen != len(tasks) {
		t.Errorf("%d Pods for %d Tasks", seen, len(tasks))
	}
	queued := 0
	for _, tk := range tasks {
		got := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != v1alpha1.TaskPhaseCompleted {
			t.Errorf("Task %s/%s ended %s: %+v", got.Namespace, got.Name, got.Status.Phase, succeeded(got))
		}
		if len(podsOf(t, got)) != 1 {
			t.Errorf("Task %s/%s has %d Pods", got.Namespace, got.Name, len(podsOf(t, got)))
		}
		for _, c := range got.Status.Conditions {
			if c.Type == v1alpha1.ConditionQueued {
				queued++
			}
		}
	}
	if queued < len(tasks)-limit {
		t.Errorf("only %d Tasks recorded a Queued condition; at least %d had to wait", queued, len(tasks)-limit)
	}
}

// burst creates perNS Tasks in each namespace, all namespaces in parallel, and returns them.
func burst(t *testing.T, namespaces []string, perNS int, agentNS, agentName string) []*v1alpha1.Task {
	t.Helper()
	var (
		mu    sync.Mutex
		tasks []*v1alpha1.Task
		wg    sync.WaitGroup
		errs  = make(chan error, len(namespaces)*perNS)
	)
	for _, ns := range namespaces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perNS {
				tk := task(ns, fmt.Sprintf("burst-%03d", i), agentNS, agentName)
				if err := env.Client.Create(context.Background(), tk); err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				tasks = append(tasks, tk)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return tasks
}

// waitAllFinal waits until every Task is Completed or Failed.
func waitAllFinal(t *testing.T, tasks []*v1alpha1.Task, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%d Tasks to finish", len(tasks)), func(ctx context.Context) (bool, error) {
		for _, tk := range tasks {
			got := &v1alpha1.Task{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
				return false, err
			}
			if got.Status.Phase != v1alpha1.TaskPhaseCompleted && got.Status.Phase != v1alpha1.TaskPhaseFailed {
				return false, nil
			}
		}
		return true, nil
	})
}

// TestT7DeletedTaskHoldsItsSlotUntilItsPodGoes: a same-namespace Task has no finalizer, so it is
// gone before the garbage collector deletes its Pod; the slot stays held while that Pod is
// there and not being deleted, so maxConcurrentTasks still counts every agent Pod.
func TestT7DeletedTaskHoldsItsSlotUntilItsPodGoes(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) { a.Spec.MaxConcurrentTasks = ptr.To[int32](1) })
	create(t, ag)
	startOperator(t, []string{ns})

	first := task(ns, "first", ns, ag.Name)
	create(t, first)
	pod := waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
	if err := env.Client.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	waitGone(t, first)
	second := task(ns, "second", ns, ag.Name)
	create(t, second)
	waitPhase(t, second, v1alpha1.TaskPhaseQueued)
	// Over several of the operator's one-second rechecks of the gone Task: it stays queued.
	consistently(t, 3*time.Second, "the second Task stays Queued while the first one's Pod remains", func(ctx context.Context) (bool, error) {
		got := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(second), got); err != nil {
			return false, err
		}
		return got.Status.Phase == v1alpha1.TaskPhaseQueued, nil
	})
	if err := env.Client.Delete(ctx, pod); err != nil { // what the garbage collector does
		t.Fatal(err)
	}
	waitPod(t, waitPhase(t, second, v1alpha1.TaskPhaseRunning))
}
