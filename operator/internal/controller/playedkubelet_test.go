package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// kubelet plays the kubelet for the operator's Pods in one namespace: it follows them with a
// watch, in resourceVersion order, so it knows exactly how many are active (not finished, not
// being deleted) after every change, and it finishes the oldest active Pod every period.
type kubelet struct {
	// finishing is held for each whole finishing step, so pause returns only once no Pod is
	// being finished.
	finishing sync.Mutex
	mu        sync.Mutex
	active    map[types.UID]*corev1.Pod
	seen      map[types.UID]bool
	maxActive int
	paused    bool
	// pending are Pods this kubelet finished whose change the watch has not delivered yet.
	pending map[types.UID]bool
	err     error
	stop    context.CancelFunc
	done    chan struct{}
}

// startKubelet starts following Pods in ns; t.Cleanup stops it.
func startKubelet(t *testing.T, ns string, period time.Duration) *kubelet {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns),
		client.MatchingLabels{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	k := &kubelet{active: map[types.UID]*corev1.Pod{}, seen: map[types.UID]bool{}, pending: map[types.UID]bool{}, stop: cancel, done: make(chan struct{})}
	go k.follow(ctx, w)
	go k.finish(ctx, period)
	t.Cleanup(k.close)
	return k
}

func (k *kubelet) close() {
	k.stop()
	<-k.done
}

func (k *kubelet) follow(ctx context.Context, w watch.Interface) {
	defer close(k.done)
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				k.fail(fmt.Errorf("the Pod watch closed"))
				return
			}
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				k.fail(fmt.Errorf("watch event %s with %T", ev.Type, ev.Object))
				return
			}
			k.mu.Lock()
			k.seen[pod.UID] = true
			finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || pod.DeletionTimestamp != nil
			if ev.Type == watch.Deleted || finished {
				delete(k.active, pod.UID)
				delete(k.pending, pod.UID)
			} else {
				k.active[pod.UID] = pod
			}
			k.maxActive = max(k.maxActive, len(k.active))
			k.mu.Unlock()
		}
	}
}

// finish marks the oldest active Pod Succeeded every period, as if its agent exited 0.
func (k *kubelet) finish(ctx context.Context, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		k.finishing.Lock()
		k.finishOldest(ctx)
		k.finishing.Unlock()
	}
}

func (k *kubelet) finishOldest(ctx context.Context) {
	k.mu.Lock()
	if k.paused {
		k.mu.Unlock()
		return
	}
	var oldest *corev1.Pod
	for _, p := range k.active {
		if oldest == nil || p.CreationTimestamp.Before(&oldest.CreationTimestamp) ||
			(p.CreationTimestamp.Equal(&oldest.CreationTimestamp) && p.Name < oldest.Name) {
			oldest = p
		}
	}
	k.mu.Unlock()
	if oldest == nil {
		return
	}
	cur := &corev1.Pod{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(oldest), cur); err != nil || cur.UID != oldest.UID {
		return
	}
	cur.Status.Phase = corev1.PodSucceeded
	if err := env.Client.Status().Update(ctx, cur); err == nil { // a conflict is retried on the next tick
		k.mu.Lock()
		if _, still := k.active[cur.UID]; still {
			k.pending[cur.UID] = true
		}
		k.mu.Unlock()
	}
}

// pause stops (or resumes) finishing Pods, so that Pods stay active.
func (k *kubelet) pause(p bool) {
	k.finishing.Lock()
	defer k.finishing.Unlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.paused = p
}

// activeNow is how many Pods are active; settled is false while a Pod this kubelet finished
// has not come back through the watch.
func (k *kubelet) activeNow() (active int, settled bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.active), len(k.pending) == 0
}

func (k *kubelet) fail(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err == nil {
		k.err = err
	}
}

// stats returns the most Pods ever active at once, how many distinct Pods were seen, and the
// first error.
func (k *kubelet) stats() (maxActive, seen int, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.maxActive, len(k.seen), k.err
}
