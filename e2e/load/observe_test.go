package load

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// fakeSource is a list+watch pair backed by a fake watch, for observe.
func fakeSource(fw *watch.FakeWatcher) (func(context.Context) (string, error), *cache.ListWatch) {
	list := func(context.Context) (string, error) { return "1", nil }
	return list, &cache.ListWatch{WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return fw, nil }}
}

func podEvent(typ watch.EventType, name, rv string, phase corev1.PodPhase) watch.Event {
	return watch.Event{Type: typ, Object: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}, Status: corev1.PodStatus{Phase: phase}}}
}

// TestObserve: the first matching event of each key is recorded once, with failures counted;
// non-matching events and repeats are ignored; wait returns when every awaited key was seen.
func TestObserve(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fw := watch.NewFake()
	list, lw := fakeSource(fw)
	o, err := observe(ctx, "pods", 3, list, lw, func(ev watch.Event) (string, bool, bool) {
		p := ev.Object.(*corev1.Pod)
		return p.Name, p.Status.Phase == corev1.PodFailed, p.Status.Phase != corev1.PodPending
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		fw.Add(podEvent(watch.Added, "a", "2", corev1.PodPending).Object)       // does not match
		fw.Modify(podEvent(watch.Modified, "a", "3", corev1.PodRunning).Object) // a
		fw.Modify(podEvent(watch.Modified, "a", "4", corev1.PodFailed).Object)  // a again: ignored
		fw.Add(podEvent(watch.Added, "b", "5", corev1.PodFailed).Object)        // b, failed
		fw.Add(podEvent(watch.Added, "c", "6", corev1.PodSucceeded).Object)     // c
	}()
	seen, failed, err := o.wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a", "b", "c"}, slices.Sorted(maps.Keys(seen))); d != "" || failed != 1 {
		t.Errorf("seen (-want +got):\n%s\nfailed = %d, want 1 (b; a failed only after it was recorded)", d, failed)
	}
}

func TestObserveWaitReportsWhatIsMissing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	fw := watch.NewFake()
	list, lw := fakeSource(fw)
	o, err := observe(ctx, "pods in ns", 2, list, lw, func(ev watch.Event) (string, bool, bool) {
		return ev.Object.(*corev1.Pod).Name, false, true
	})
	if err != nil {
		t.Fatal(err)
	}
	fw.Add(podEvent(watch.Added, "a", "2", "").Object)
	if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.seen) == 1, nil
	}); err != nil {
		t.Fatal(err)
	}
	cancel()
	seen, _, err := o.wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "saw 1 of 2 pods in ns") || len(seen) != 1 {
		t.Errorf("wait = %v, %v; want the one seen and an error saying 1 of 2 pods in ns", seen, err)
	}
}
