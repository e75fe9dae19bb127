package load

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// observer records, through one watch, when each awaited object was first seen in the state the
// caller looks for. Objects are keyed by the caller (e.g. the Pod name, or the label naming its
// Task) so that they can be matched to the objects it created.
type observer struct {
	what    string // "pods", "Tasks": for errors
	mu      sync.Mutex
	seen    map[string]time.Time
	failed  int
	want    int
	done    chan struct{}
	stopped chan struct{}
}

// observe starts a watch of what list and watch return (a List with Limit 1 gives the starting
// resourceVersion) and returns once it is established, so nothing created afterwards is missed.
// match turns an event into the key to record, whether it counts as failed, and whether it
// counts at all.
func observe(ctx context.Context, what string, want int, list func(context.Context) (string, error),
	lw *cache.ListWatch, match func(watch.Event) (key string, failed, ok bool)) (*observer, error) {
	rv, err := list(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, rv, lw)
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", what, err)
	}
	o := &observer{what: what, seen: map[string]time.Time{}, want: want, done: make(chan struct{}), stopped: make(chan struct{})}
	if want == 0 {
		close(o.done)
	}
	go func() {
		defer close(o.stopped)
		defer rw.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-o.done:
				return
			case ev, ok := <-rw.ResultChan():
				if !ok {
					return
				}
				now := time.Now()
				if key, failed, ok := match(ev); ok {
					o.record(key, failed, now)
				}
			}
		}
	}()
	return o, nil
}

func (o *observer) record(key string, failed bool, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, dup := o.seen[key]; dup || key == "" {
		return
	}
	o.seen[key] = at
	if failed {
		o.failed++
	}
	if len(o.seen) == o.want {
		close(o.done)
	}
}

// wait blocks until every awaited object was seen or ctx ends, and returns what was seen and how
// many of those counted as failed.
func (o *observer) wait(ctx context.Context) (map[string]time.Time, int, error) {
	select {
	case <-o.done:
	case <-ctx.Done():
	case <-o.stopped:
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := maps.Clone(o.seen)
	if len(seen) < o.want {
		return seen, o.failed, fmt.Errorf("saw %d of %d %s: %w", len(seen), o.want, o.what, context.Cause(ctx))
	}
	return seen, o.failed, nil
}

// observePods records when each Pod in ns matching selector was first seen (ADDED), keyed by keyOf.
func observePods(ctx context.Context, cs kubernetes.Interface, ns, selector string, want int, keyOf func(*corev1.Pod) string) (*observer, error) {
	pods := cs.CoreV1().Pods(ns)
	return observe(ctx, "pods in "+ns, want,
		func(ctx context.Context) (string, error) {
			l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 1})
			if err != nil {
				return "", err
			}
			return l.ResourceVersion, nil
		},
		&cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return pods.Watch(ctx, o)
		}},
		func(ev watch.Event) (string, bool, bool) {
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod || ev.Type != watch.Added {
				return "", false, false
			}
			return keyOf(pod), false, true
		})
}

// observeTasks records when each Task in ns matching selector first reached phase until (or a
// later one); Tasks that reached Failed count as failed.
func observeTasks(ctx context.Context, c *Clients, ns, selector, until string, want int) (*observer, error) {
	tasks := c.Dynamic.Resource(TaskResource).Namespace(ns)
	return observe(ctx, "Tasks in "+ns, want,
		func(ctx context.Context) (string, error) {
			l, err := tasks.List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 1})
			if err != nil {
				return "", err
			}
			return l.GetResourceVersion(), nil
		},
		&cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return tasks.Watch(ctx, o)
		}},
		func(ev watch.Event) (string, bool, bool) {
			u, isU := ev.Object.(*unstructured.Unstructured)
			if !isU || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				return "", false, false
			}
			phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
			return u.GetNamespace() + "/" + u.GetName(), phase == "Failed", phaseAtLeast(phase, until)
		})
}

// phaseAtLeast reports whether phase is at or past until in the Task lifecycle.
func phaseAtLeast(phase, until string) bool {
	switch until {
	case "Admitted":
		return phase == "Queued" || phase == "Running" || phase == "Completed" || phase == "Failed"
	case "Running":
		return phase == "Running" || phase == "Completed" || phase == "Failed"
	case "Completed":
		return phase == "Completed" || phase == "Failed"
	}
	return false
}
