package chaos

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeopencode/kubeopencode/e2e/load"
)

// Labels the operator puts on agent Pods (api/v1alpha1, CONTRIBUTING.md).
const (
	managedByLabel     = "app.kubernetes.io/managed-by"
	managedByValue     = "kubeopencode"
	taskUIDLabel       = "kubeopencode.io/task-uid"
	taskNameLabel      = "kubeopencode.io/task-name"
	taskNamespaceLabel = "kubeopencode.io/task-namespace"
	agentLabel         = "kubeopencode.io/agent"
)

// ObjectOfPod is what the checker needs of a Pod.
func ObjectOfPod(p *corev1.Pod) Object {
	o := Object{Kind: KindPod, UID: string(p.UID), Namespace: p.Namespace, Name: p.Name,
		TaskUID: p.Labels[taskUIDLabel], Agent: AgentKey{Namespace: p.Namespace, Name: p.Labels[agentLabel]},
		Phase: string(p.Status.Phase), Deleting: p.DeletionTimestamp != nil}
	if n := p.Labels[taskNameLabel]; n != "" {
		o.Task = p.Labels[taskNamespaceLabel] + "/" + n
	}
	return o
}

// ObjectOfTask is what the checker needs of a Task (unstructured: e2e does not import the api).
func ObjectOfTask(u *unstructured.Unstructured) Object {
	o := Object{Kind: KindTask, UID: string(u.GetUID()), Namespace: u.GetNamespace(), Name: u.GetName(),
		Deleting: u.GetDeletionTimestamp() != nil}
	o.Phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
	o.Agent.Name, _, _ = unstructured.NestedString(u.Object, "spec", "agentRef", "name")
	o.Agent.Namespace, _, _ = unstructured.NestedString(u.Object, "spec", "agentRef", "namespace")
	if o.Agent.Namespace == "" {
		o.Agent.Namespace = u.GetNamespace()
	}
	return o
}

// Recorder keeps the timeline and tells listeners about every event as it is recorded. Safe for
// concurrent use.
type Recorder struct {
	mu        sync.Mutex
	tl        Timeline
	last      map[string]Object
	listeners []func(Event)
	clock     func() time.Time
}

// NewRecorder returns an empty Recorder that calls each listener, in order, for every event it
// records (listeners must not block: they run on the watch's goroutine).
func NewRecorder(listeners ...func(Event)) *Recorder {
	return &Recorder{last: map[string]Object{}, listeners: listeners, clock: time.Now}
}

// record appends ev unless it repeats the object's last recorded state (routine updates of
// fields the checker does not read).
func (r *Recorder) record(typ EventType, o Object) {
	r.mu.Lock()
	prev, known := r.last[o.UID]
	gone := typ == Deleted || typ == Vanished
	if known && !gone && prev == o {
		r.mu.Unlock()
		return
	}
	if gone {
		delete(r.last, o.UID)
	} else {
		r.last[o.UID] = o
	}
	ev := Event{At: r.clock(), Type: typ, Object: o}
	r.tl.Events = append(r.tl.Events, ev)
	r.mu.Unlock()
	for _, l := range r.listeners {
		l(ev)
	}
}

// relisted records a relist of kind: objects in items are Relisted, known objects of kind absent
// from it Vanished; with gapFrom set, the stretch up to now is a Gap.
func (r *Recorder) relisted(kind Kind, items []Object, gapFrom time.Time) {
	in := map[string]bool{}
	for _, o := range items {
		in[o.UID] = true
	}
	r.mu.Lock()
	var vanished []Object
	for uid, o := range r.last {
		if o.Kind == kind && !in[uid] {
			vanished = append(vanished, o)
		}
	}
	if !gapFrom.IsZero() {
		r.tl.Gaps = append(r.tl.Gaps, Gap{Kind: kind, From: gapFrom, To: r.clock()})
	}
	r.mu.Unlock()
	for _, o := range vanished {
		r.record(Vanished, o)
	}
	for _, o := range items {
		r.record(Relisted, o)
	}
}

// Timeline returns a copy of what was recorded so far.
func (r *Recorder) Timeline() Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Timeline{Events: append([]Event(nil), r.tl.Events...), Gaps: append([]Gap(nil), r.tl.Gaps...)}
}

// source lists and watches one kind.
type source struct {
	kind    Kind
	list    func(ctx context.Context) ([]Object, string, error)
	watch   func(ctx context.Context, rv string) (watch.Interface, error)
	convert func(runtime.Object) (Object, bool)
}

// Observe records every agent Pod (label app.kubernetes.io/managed-by=kubeopencode) and every
// Task in every namespace into rec until ctx ends. It returns once both watches are established
// (nothing created afterwards is missed); errors after that are retried, and when the API server
// can no longer resume a watch (410 Gone, e.g. after its restart) the kind is relisted and the
// gap recorded.
func Observe(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, rec *Recorder) error {
	podSel := managedByLabel + "=" + managedByValue
	pods := source{kind: KindPod,
		list: func(ctx context.Context) ([]Object, string, error) {
			l, err := kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: podSel})
			if err != nil {
				return nil, "", err
			}
			out := make([]Object, 0, len(l.Items))
			for i := range l.Items {
				out = append(out, ObjectOfPod(&l.Items[i]))
			}
			return out, l.ResourceVersion, nil
		},
		watch: func(ctx context.Context, rv string) (watch.Interface, error) {
			return kube.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{LabelSelector: podSel, ResourceVersion: rv, AllowWatchBookmarks: true})
		},
		convert: func(o runtime.Object) (Object, bool) {
			p, ok := o.(*corev1.Pod)
			if !ok {
				return Object{}, false
			}
			return ObjectOfPod(p), true
		},
	}
	tasks := source{kind: KindTask,
		list: func(ctx context.Context) ([]Object, string, error) {
			l, err := dyn.Resource(load.TaskResource).Namespace("").List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, "", err
			}
			out := make([]Object, 0, len(l.Items))
			for i := range l.Items {
				out = append(out, ObjectOfTask(&l.Items[i]))
			}
			return out, l.GetResourceVersion(), nil
		},
		watch: func(ctx context.Context, rv string) (watch.Interface, error) {
			return dyn.Resource(load.TaskResource).Namespace("").Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		},
		convert: func(o runtime.Object) (Object, bool) {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				return Object{}, false
			}
			return ObjectOfTask(u), true
		},
	}
	for _, s := range []source{pods, tasks} {
		items, rv, err := s.list(ctx)
		if err != nil {
			return fmt.Errorf("listing %ss: %w", s.kind, err)
		}
		rec.relisted(s.kind, items, time.Time{})
		w, err := s.watch(ctx, rv)
		if err != nil {
			return fmt.Errorf("watching %ss: %w", s.kind, err)
		}
		go s.run(ctx, rec, w, rv)
	}
	return nil
}

// run follows w, re-watching from the last resourceVersion when it ends and relisting when that
// is too old, until ctx ends.
func (s source) run(ctx context.Context, rec *Recorder, w watch.Interface, rv string) {
	backoff := 100 * time.Millisecond
	// broke is when the last watch ended: what changed since is unseen until a watch resumes
	// (nothing lost) or a relist (a gap from broke).
	var broke time.Time
	for {
		gone := false
		if w != nil {
			rv, gone = s.drain(ctx, rec, w, rv)
			w.Stop()
			w = nil
			broke = time.Now()
		}
		if ctx.Err() != nil {
			return
		}
		if !gone {
			var err error
			if w, err = s.watch(ctx, rv); err == nil {
				backoff = 100 * time.Millisecond
				continue
			}
			gone = apierrors.IsGone(err) || apierrors.IsResourceExpired(err)
		}
		if gone {
			// Relist until the API server answers; the stretch since the watch broke is a gap.
			for ctx.Err() == nil {
				items, lrv, err := s.list(ctx)
				if err == nil {
					rec.relisted(s.kind, items, broke)
					rv = lrv
					break
				}
				sleep(ctx, backoff)
				backoff = min(2*backoff, 2*time.Second)
			}
			continue
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// drain records w's events until it ends; it returns the last resourceVersion seen and whether
// the API server said that version is gone.
func (s source) drain(ctx context.Context, rec *Recorder, w watch.Interface, rv string) (string, bool) {
	for {
		select {
		case <-ctx.Done():
			return rv, false
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv, false
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				return rv, apierrors.IsGone(err) || apierrors.IsResourceExpired(err)
			case watch.Bookmark:
				if m, err := metaRV(ev.Object); err == nil {
					rv = m
				}
				continue
			}
			o, ok := s.convert(ev.Object)
			if !ok {
				continue
			}
			if m, err := metaRV(ev.Object); err == nil {
				rv = m
			}
			switch ev.Type {
			case watch.Added:
				rec.record(Added, o)
			case watch.Modified:
				rec.record(Modified, o)
			case watch.Deleted:
				rec.record(Deleted, o)
			}
		}
	}
}

func metaRV(o runtime.Object) (string, error) {
	m, err := metaAccessor(o)
	if err != nil {
		return "", err
	}
	return m.GetResourceVersion(), nil
}

func metaAccessor(o runtime.Object) (metav1.Object, error) {
	if m, ok := o.(metav1.Object); ok {
		return m, nil
	}
	return nil, fmt.Errorf("%T has no object metadata", o)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
