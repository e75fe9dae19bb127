package load

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// podObserver records, through one watch, when each Pod of a namespace was first seen. It keys
// Pods by keyOf (e.g. the Pod name, or the label naming its Task) so a caller can match them to
// the objects it created.
type podObserver struct {
	mu      sync.Mutex
	seen    map[string]time.Time
	want    int
	done    chan struct{}
	keyOf   func(*corev1.Pod) string
	stopped chan struct{}
}

// observePods starts watching Pods in ns matching selector; it returns once the watch is
// established, so nothing created afterwards can be missed.
func observePods(ctx context.Context, cs kubernetes.Interface, ns, selector string, want int, keyOf func(*corev1.Pod) string) (*podObserver, error) {
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("listing pods in %s: %w", ns, err)
	}
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.LabelSelector = selector
		return cs.CoreV1().Pods(ns).Watch(ctx, o)
	}}
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, lw)
	if err != nil {
		return nil, fmt.Errorf("watching pods in %s: %w", ns, err)
	}
	o := &podObserver{seen: map[string]time.Time{}, want: want, done: make(chan struct{}), keyOf: keyOf, stopped: make(chan struct{})}
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
				pod, isPod := ev.Object.(*corev1.Pod)
				if !isPod || ev.Type != watch.Added {
					continue
				}
				o.record(o.keyOf(pod), now)
			}
		}
	}()
	return o, nil
}

func (o *podObserver) record(key string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, dup := o.seen[key]; dup || key == "" {
		return
	}
	o.seen[key] = at
	if len(o.seen) == o.want {
		close(o.done)
	}
}

// wait blocks until every wanted Pod was seen or ctx ends, and returns what was seen.
func (o *podObserver) wait(ctx context.Context) (map[string]time.Time, error) {
	select {
	case <-o.done:
	case <-ctx.Done():
	case <-o.stopped:
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := make(map[string]time.Time, len(o.seen))
	for k, v := range o.seen {
		seen[k] = v
	}
	if len(seen) < o.want {
		return seen, fmt.Errorf("saw %d of %d pods: %w", len(seen), o.want, context.Cause(ctx))
	}
	return seen, nil
}
