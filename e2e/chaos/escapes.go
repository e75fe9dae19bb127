package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubeopencode/kubeopencode/e2e/load"
)

// EscapeKind is one way a task author tries to make an agent Pod outlive its Task (issue 14).
type EscapeKind string

// The escapes.
const (
	// StripFinalizer: on a cross-namespace Task, remove kubeopencode.io/cleanup (a patch the
	// task-author role allows), then delete the Task.
	StripFinalizer EscapeKind = "finalizer-strip"
	// OrphanDelete: delete a same-namespace Task with propagationPolicy Orphan
	// (kubectl delete --cascade=orphan), then create a Task of the same name again.
	OrphanDelete EscapeKind = "orphan-delete"
	// ForgeStatus: as a user allowed to write tasks/status, set phase Completed while the Pod runs.
	ForgeStatus EscapeKind = "forged-status"
)

// EscapeKinds in report order.
var EscapeKinds = []EscapeKind{StripFinalizer, OrphanDelete, ForgeStatus}

// cleanupFinalizer is the operator's finalizer on cross-namespace Tasks.
const cleanupFinalizer = "kubeopencode.io/cleanup"

// EscapeStats counts one kind's attempts.
type EscapeStats struct {
	// Tried: attempts made (the victim's Pod was seen Running).
	Tried int `json:"tried"`
	// Refused: attempts the API server refused (Forbidden or Invalid: RBAC or an admission
	// policy); the victim Task is then deleted the ordinary way (finalizer strips) or left alone.
	Refused int `json:"refused"`
	// Errors: attempts that failed otherwise (e.g. the API server restarting), first few kept.
	Errors     int      `json:"errors"`
	FirstError []string `json:"firstErrors,omitempty"`
	// Recreated: Tasks created again under a deleted victim's name.
	Recreated int `json:"recreated,omitempty"`
}

type victim struct {
	kind  EscapeKind
	ns    string
	name  string
	agent AgentKey
	// uid is the victim Task's UID, learnt from its Pod; "" until then.
	uid string
}

// Escaper tries the escapes on chosen victim Tasks once each victim's Pod is seen Running, as
// Author (the task-author persona) or StatusWriter (the forged status).
type Escaper struct {
	Author, StatusWriter dynamic.Interface
	// Delay bounds the random wait between the Pod seen Running and the attempt.
	MinDelay, MaxDelay time.Duration
	RunID              string
	// Log reports attempts that did not go as planned.
	Log func(format string, args ...any)

	ctx     context.Context
	mu      sync.Mutex
	rng     *rand.Rand
	victims map[string]*victim
	stats   map[EscapeKind]*EscapeStats
	last    time.Time
	wg      sync.WaitGroup
}

// Start makes OnEvent act until ctx ends.
func (e *Escaper) Start(ctx context.Context, seed uint64) {
	e.ctx, e.rng = ctx, rand.New(rand.NewPCG(seed, 2))
	e.victims, e.stats = map[string]*victim{}, map[EscapeKind]*EscapeStats{}
	for _, k := range EscapeKinds {
		e.stats[k] = &EscapeStats{}
	}
	if e.Log == nil {
		e.Log = func(string, ...any) {}
	}
}

// Add makes the Task ns/name (on Agent agent) a victim of kind; call before creating it.
func (e *Escaper) Add(kind EscapeKind, ns, name string, agent AgentKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.victims[ns+"/"+name] = &victim{kind: kind, ns: ns, name: name, agent: agent}
}

// Skip reports whether o is a victim's Pod (it keeps running: the agent is still at work).
func (e *Escaper) Skip(o Object) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.victims[o.Task]
	return v != nil && (v.uid == "" || v.uid == o.TaskUID)
}

// OnEvent is the Recorder listener.
func (e *Escaper) OnEvent(ev Event) {
	o := ev.Object
	if e.ctx == nil || o.Kind != KindPod || ev.Type == Deleted || ev.Type == Vanished || o.Phase != string(corev1.PodRunning) || o.Deleting {
		return
	}
	e.mu.Lock()
	v := e.victims[o.Task]
	if v == nil || v.uid != "" {
		e.mu.Unlock()
		return
	}
	v.uid = o.TaskUID
	d := e.MinDelay + time.Duration(e.rng.Int64N(int64(e.MaxDelay-e.MinDelay)+1))
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		sleep(e.ctx, d)
		if e.ctx.Err() == nil {
			e.try(*v)
		}
	}()
}

// Wait waits for the attempts under way.
func (e *Escaper) Wait() { e.wg.Wait() }

// Stats returns the counts per kind and when the last attempt ended.
func (e *Escaper) Stats() (map[EscapeKind]EscapeStats, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[EscapeKind]EscapeStats{}
	for k, s := range e.stats {
		c := *s
		c.FirstError = slices.Clone(s.FirstError)
		out[k] = c
	}
	return out, e.last
}

func (e *Escaper) try(v victim) {
	refused, recreated, err := e.attempt(v)
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats[v.kind]
	s.Tried++
	s.Recreated += recreated
	switch {
	case refused:
		s.Refused++
	case err != nil:
		s.Errors++
		if len(s.FirstError) < 3 {
			s.FirstError = append(s.FirstError, fmt.Sprintf("%s %s/%s: %v", v.kind, v.ns, v.name, err))
		}
		e.Log("escape %s on %s/%s: %v", v.kind, v.ns, v.name, err)
	}
	e.last = time.Now()
}

// refusal: the API server said no on purpose (authorization or admission), not by accident.
func refusal(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsInvalid(err)
}

// retry calls f until it succeeds, is refused for good, or 2 minutes passed (the API server
// may be restarting); conflicts are retried at once.
func (e *Escaper) retry(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	return retryRefusals(ctx, refusalGrace, f)
}

// refusalGrace is how long a refusal is retried before it counts: a kube-apiserver that just
// started answers Forbidden until its RBAC caches are synced.
const refusalGrace = 15 * time.Second

// retryRefusals calls f until it succeeds, the object is not found, ctx ends, or it was refused
// (Forbidden, Invalid) for grace; other errors and conflicts are retried.
func retryRefusals(ctx context.Context, grace time.Duration, f func(ctx context.Context) error) error {
	var refusedSince time.Time
	for {
		err := f(ctx)
		if err == nil || apierrors.IsNotFound(err) || ctx.Err() != nil {
			return err
		}
		if refusal(err) {
			if refusedSince.IsZero() {
				refusedSince = time.Now()
			}
			if time.Since(refusedSince) >= grace {
				return err
			}
		} else {
			refusedSince = time.Time{}
		}
		if !apierrors.IsConflict(err) {
			sleep(ctx, 500*time.Millisecond)
		}
	}
}

// attempt performs the escape; refused when the API server refused its decisive step.
func (e *Escaper) attempt(v victim) (refused bool, recreated int, err error) {
	tasks := e.Author.Resource(load.TaskResource).Namespace(v.ns)
	del := func(policy metav1.DeletionPropagation) error {
		return e.retry(func(ctx context.Context) error {
			uid := types.UID(v.uid)
			opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}
			if policy != "" {
				opts.PropagationPolicy = &policy
			}
			return tasks.Delete(ctx, v.name, opts)
		})
	}
	switch v.kind {
	case StripFinalizer:
		err = e.retry(func(ctx context.Context) error {
			t, err := tasks.Get(ctx, v.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if string(t.GetUID()) != v.uid {
				return apierrors.NewNotFound(load.TaskResource.GroupResource(), v.name)
			}
			var keep []string
			for _, f := range t.GetFinalizers() {
				if f != cleanupFinalizer {
					keep = append(keep, f)
				}
			}
			if keep == nil {
				keep = []string{}
			}
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
				"resourceVersion": t.GetResourceVersion(), "finalizers": keep}})
			_, err = tasks.Patch(ctx, v.name, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		})
		refused = refusal(err)
		if err != nil && !refused {
			return false, 0, fmt.Errorf("removing the finalizer: %w", err)
		}
		if derr := del(""); derr != nil {
			return refused, 0, fmt.Errorf("deleting the Task: %w", derr)
		}
		return refused, 0, nil
	case OrphanDelete:
		err = del(metav1.DeletePropagationOrphan)
		if refusal(err) {
			return true, 0, nil
		}
		if err != nil {
			return false, 0, fmt.Errorf("orphan delete: %w", err)
		}
		// The same name again, once the old Task is gone: a new UID the old Pod must not follow.
		sleep(e.ctx, time.Second)
		err = e.retry(func(ctx context.Context) error {
			_, err := tasks.Create(ctx, TaskObject(v.ns, v.name, v.agent, e.RunID), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				sleep(ctx, 500*time.Millisecond)
				return apierrors.NewConflict(load.TaskResource.GroupResource(), v.name, err)
			}
			return err
		})
		if err != nil {
			return false, 0, fmt.Errorf("creating the Task again: %w", err)
		}
		return false, 1, nil
	case ForgeStatus:
		writer := e.StatusWriter.Resource(load.TaskResource).Namespace(v.ns)
		err = e.retry(func(ctx context.Context) error {
			_, err := writer.Patch(ctx, v.name, types.MergePatchType, []byte(`{"status":{"phase":"Completed"}}`), metav1.PatchOptions{}, "status")
			return err
		})
		if refusal(err) {
			return true, 0, nil
		}
		if err != nil {
			return false, 0, fmt.Errorf("forging status: %w", err)
		}
		return false, 0, nil
	}
	return false, 0, fmt.Errorf("unknown escape %q", v.kind)
}
