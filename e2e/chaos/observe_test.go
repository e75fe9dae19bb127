package chaos

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
)

func fakePod(uid, rv string, phase corev1.PodPhase, deleting bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod-" + uid, Namespace: "agents", UID: types.UID(uid), ResourceVersion: rv,
		Labels: map[string]string{taskUIDLabel: "t-" + uid, agentLabel: "a1", taskNameLabel: "task-" + uid, taskNamespaceLabel: "team"}},
		Status: corev1.PodStatus{Phase: phase}}
	if deleting {
		p.DeletionTimestamp = &metav1.Time{Time: t0}
	}
	return p
}

// TestObserveRelistsAfterGone: watch events are recorded in order, repeats of the same state
// dropped; when the API server says the resourceVersion is gone the kind is relisted: objects
// missing from the list are Vanished, the others Relisted, and the stretch is a Gap; the watch
// then resumes from the list's resourceVersion.
func TestObserveRelistsAfterGone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	watchers := map[string]*watch.FakeWatcher{}
	lists := 0
	src := source{kind: KindPod,
		list: func(context.Context) ([]Object, string, error) {
			mu.Lock()
			defer mu.Unlock()
			lists++
			return []Object{ObjectOfPod(fakePod("b", "20", corev1.PodSucceeded, false)), ObjectOfPod(fakePod("c", "21", corev1.PodPending, false))}, "21", nil
		},
		watch: func(_ context.Context, rv string) (watch.Interface, error) {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := watchers[rv]; !ok {
				watchers[rv] = watch.NewFakeWithChanSize(10, false)
			}
			return watchers[rv], nil
		},
		convert: func(o runtime.Object) (Object, bool) {
			p, ok := o.(*corev1.Pod)
			if !ok {
				return Object{}, false
			}
			return ObjectOfPod(p), true
		},
	}
	var seen []EventType
	rec := NewRecorder(func(ev Event) { mu.Lock(); seen = append(seen, ev.Type); mu.Unlock() })
	first, _ := src.watch(ctx, "1")
	go src.run(ctx, rec, first, "1")
	fw := first.(*watch.FakeWatcher)
	fw.Add(fakePod("a", "2", corev1.PodPending, false))
	fw.Modify(fakePod("a", "3", corev1.PodPending, false)) // same state: dropped
	fw.Add(fakePod("b", "4", corev1.PodRunning, false))
	fw.Modify(fakePod("a", "5", corev1.PodRunning, true))
	fw.Error(&apierrors.NewResourceExpired("too old resource version: 5 (19)").ErrStatus)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return cond(), nil
		}); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	waitFor("the watch from the relist", func() bool { return watchers["21"] != nil })
	watchers["21"].Add(fakePod("d", "22", corev1.PodPending, false))
	waitFor("pod d", func() bool { return len(rec.Timeline().Events) == 7 })

	tl := rec.Timeline()
	var got []string
	for _, ev := range tl.Events {
		got = append(got, string(ev.Type)+" "+ev.Object.UID+" "+ev.Object.Phase)
	}
	want := []string{"Added a Pending", "Added b Running", "Modified a Running",
		"Vanished a Running", "Relisted b Succeeded", "Relisted c Pending", "Added d Pending"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("timeline (-want +got):\n%s", d)
	}
	if len(tl.Gaps) != 1 || tl.Gaps[0].Kind != KindPod || tl.Gaps[0].To.Before(tl.Gaps[0].From) {
		t.Errorf("gaps = %+v, want one Pod gap", tl.Gaps)
	}
	if d := cmp.Diff(Object{Kind: KindPod, UID: "a", Namespace: "agents", Name: "pod-a", TaskUID: "t-a", Task: "team/task-a",
		Agent: AgentKey{Namespace: "agents", Name: "a1"}, Phase: "Running", Deleting: true}, tl.Events[2].Object); d != "" {
		t.Errorf("Pod object (-want +got):\n%s", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if lists != 1 || len(seen) != 7 {
		t.Errorf("lists = %d (want 1), listener saw %d events (want 7)", lists, len(seen))
	}
}

func TestRetryRefusals(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "tasks"}, "x", errors.New("no"))
	unavailable := apierrors.NewGenericServerResponse(http.StatusServiceUnavailable, "get", schema.GroupResource{}, "", "", 0, true)
	tests := []struct {
		name    string
		answers []error
		want    error
		calls   int
	}{
		{"a refusal right after a restart, then success", []error{forbidden, forbidden, nil}, nil, 3},
		{"unavailable, then success", []error{unavailable, nil}, nil, 2},
		{"refused for good", []error{forbidden}, forbidden, -1},
		{"not found ends it", []error{apierrors.NewNotFound(schema.GroupResource{Resource: "tasks"}, "x")}, apierrors.NewNotFound(schema.GroupResource{Resource: "tasks"}, "x"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := retryRefusals(context.Background(), 1200*time.Millisecond, func(context.Context) error {
				calls++
				return tc.answers[min(calls, len(tc.answers))-1]
			})
			if (err == nil) != (tc.want == nil) || (err != nil && err.Error() != tc.want.Error()) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if tc.calls >= 0 && calls != tc.calls {
				t.Errorf("%d calls, want %d", calls, tc.calls)
			}
			if tc.calls < 0 && calls < 2 {
				t.Errorf("%d calls: a refusal must be retried within the grace", calls)
			}
		})
	}
}
