package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// ledger is the operator's in-process record of which Tasks hold a slot of their Agent's
// maxConcurrentTasks, and when each Agent's Tasks started (for quota). It is what makes threat T7
// hold under a burst: the cache lags behind the operator's own writes, so counting Pods or
// Running Tasks in the cache would let concurrent reconciles over-admit. Every admission is a
// check-and-reserve under one mutex instead.
//
// The ledger is authoritative because only the elected leader admits Tasks. It is rebuilt from
// the cache (Tasks and the operator's Pods) before the first admission after start, so a restart
// never forgets a running Pod (see build). A slot is released only when the Task's Pod is
// terminating, finished or gone (or was never created): never because a Task is deleted, orphaned
// or says it is final (T7, T18).
//
// Start times for the quota window are kept in memory and rebuilt from Task status.startTime
// (and the Pods' creation time); starts of Tasks deleted before a restart are forgotten.
type ledger struct {
	mu sync.Mutex

	// slots maps an Agent key ("namespace/name") to the Task UIDs that hold one of its slots.
	slots map[string]map[types.UID]struct{}
	// holder maps a Task UID to the Agent key it holds a slot of.
	holder map[types.UID]string
	// starts maps an Agent key to the start times of its Tasks, by Task UID.
	starts map[string]map[types.UID]time.Time
	// keys maps a Task's namespace/name to its UID, to release a Task that is already gone;
	// names is its inverse, so a release does not scan every key.
	keys  map[types.NamespacedName]types.UID
	names map[types.UID]types.NamespacedName
	// waiting maps an Agent key to the Tasks queued for it, woken when a slot frees.
	waiting map[string]map[types.NamespacedName]struct{}
	// stale holds, per Task UID, resourceVersions the operator itself superseded with a write: a
	// cached Task at one of them is older than what the operator already wrote.
	stale map[types.UID]map[string]struct{}
}

func newLedger() *ledger {
	return &ledger{
		slots:   map[string]map[types.UID]struct{}{},
		holder:  map[types.UID]string{},
		starts:  map[string]map[types.UID]time.Time{},
		keys:    map[types.NamespacedName]types.UID{},
		names:   map[types.UID]types.NamespacedName{},
		waiting: map[string]map[types.NamespacedName]struct{}{},
		stale:   map[types.UID]map[string]struct{}{},
	}
}

// agentKey identifies an Agent across namespaces.
func agentKey(namespace, name string) string { return namespace + "/" + name }

// taskAgentKey is the key of the Agent a Task names, computed from its immutable spec.
func taskAgentKey(t *v1alpha1.Task) string { return agentKey(agentNamespace(t), t.Spec.AgentRef.Name) }

// build fills the ledger from the cache: before the first admission after start, which must run
// after the Task and Pod informers have synced (controller-runtime guarantees it before the first
// Reconcile). A Task holds a slot while a running Pod with its UID exists where its Pod must live
// (whatever the Task says: deleted, final or not), and while it is Running without a cached Pod
// (the cache is conservative). It returns the running Pods whose Task UID is not in the cache:
// the caller confirms with the API server and deletes them, or holds them (holdFor), before any
// admission.
func (l *ledger) build(ctx context.Context, c client.Reader) ([]*corev1.Pod, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tasks := &v1alpha1.TaskList{}
	if err := c.List(ctx, tasks); err != nil {
		return nil, fmt.Errorf("listing Tasks to rebuild the capacity ledger: %w", err)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.MatchingLabels{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue}); err != nil {
		return nil, fmt.Errorf("listing agent Pods to rebuild the capacity ledger: %w", err)
	}
	byUID := make(map[types.UID]*v1alpha1.Task, len(tasks.Items))
	for i := range tasks.Items {
		byUID[tasks.Items[i].UID] = &tasks.Items[i]
	}
	podOf := make(map[types.UID]*corev1.Pod, len(pods.Items))
	var orphans []*corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		uid := types.UID(p.Labels[v1alpha1.TaskUIDLabel])
		t := byUID[uid]
		if t == nil {
			if running(p) && createdByOperator(p) {
				orphans = append(orphans, p)
			}
			continue
		}
		// A Pod only counts when it lives where this Task's Pod must live.
		if p.Namespace != agentNamespace(t) {
			continue
		}
		podOf[uid] = p
		if running(p) {
			l.hold(taskAgentKey(t), t)
		}
	}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		key := taskAgentKey(t)
		pod := podOf[t.UID]
		switch {
		case t.Status.StartTime != nil:
			l.recordStart(key, t.UID, t.Status.StartTime.Time)
		case pod != nil:
			l.recordStart(key, t.UID, pod.CreationTimestamp.Time)
		}
		if pod == nil && !isFinal(t) && t.Status.Phase == v1alpha1.TaskPhaseRunning {
			l.hold(key, t)
		}
	}
	return orphans, nil
}

// holdFor records that the Task holds a slot of its Agent (a running Pod of it was found).
func (l *ledger) holdFor(t *v1alpha1.Task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold(taskAgentKey(t), t)
}

// holds reports whether the Task UID holds a slot.
func (l *ledger) holds(uid types.UID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.holder[uid]
	return ok
}

func (l *ledger) recordStart(key string, uid types.UID, at time.Time) {
	if l.starts[key] == nil {
		l.starts[key] = map[types.UID]time.Time{}
	}
	l.starts[key][uid] = at
}

func (l *ledger) hold(key string, t *v1alpha1.Task) {
	if l.slots[key] == nil {
		l.slots[key] = map[types.UID]struct{}{}
	}
	l.slots[key][t.UID] = struct{}{}
	l.holder[t.UID] = key
	nn := types.NamespacedName{Namespace: t.Namespace, Name: t.Name}
	l.keys[nn] = t.UID
	l.names[t.UID] = nn
}

// admission is the answer of admit.
type admission struct {
	ok bool
	// reason is ReasonMaxConcurrentTasks or ReasonQuotaExceeded when !ok.
	reason, message string
	// retryAfter is when a quota window frees a start (zero: wait to be woken).
	retryAfter time.Duration
}

// admit reserves a slot (and a quota start) of the Agent for the Task, or says why it must wait.
// It is idempotent: a Task that already holds a slot is admitted again without a second start.
// A Task that must wait is remembered and woken by release.
func (l *ledger) admit(t *v1alpha1.Task, max *int32, quota *v1alpha1.QuotaConfig, now time.Time) admission {
	return l.check(t, max, quota, now, true)
}

// peek answers like admit without reserving anything: a Task that would wait is remembered (and
// woken by release) as with admit. It lets a queued Task wait without the operator reading its
// payload (T24).
func (l *ledger) peek(t *v1alpha1.Task, max *int32, quota *v1alpha1.QuotaConfig, now time.Time) admission {
	return l.check(t, max, quota, now, false)
}

func (l *ledger) check(t *v1alpha1.Task, max *int32, quota *v1alpha1.QuotaConfig, now time.Time, reserve bool) admission {
	key := taskAgentKey(t)
	nn := types.NamespacedName{Namespace: t.Namespace, Name: t.Name}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, held := l.slots[key][t.UID]; held {
		return admission{ok: true}
	}
	if max != nil && len(l.slots[key]) >= int(*max) {
		l.wait(key, nn)
		return admission{reason: v1alpha1.ReasonMaxConcurrentTasks, message: fmt.Sprintf(
			"waiting for a slot: Agent %q already runs its maxConcurrentTasks (%d) Tasks", key, *max)}
	}
	if quota != nil {
		window := time.Duration(quota.WindowSeconds) * time.Second
		var inWindow []time.Time
		for uid, at := range l.starts[key] {
			if now.Sub(at) < window {
				inWindow = append(inWindow, at)
			} else {
				delete(l.starts[key], uid)
			}
		}
		if len(inWindow) >= int(quota.MaxTaskStarts) {
			slices.SortFunc(inWindow, func(a, b time.Time) int { return a.Compare(b) })
			// The window frees a start when its oldest start leaves it.
			retry := inWindow[len(inWindow)-int(quota.MaxTaskStarts)].Add(window).Sub(now)
			l.wait(key, nn)
			return admission{reason: v1alpha1.ReasonQuotaExceeded, retryAfter: max1s(retry), message: fmt.Sprintf(
				"waiting for quota: Agent %q allows %d Task starts per %d seconds", key, quota.MaxTaskStarts, quota.WindowSeconds)}
		}
	}
	if !reserve {
		return admission{ok: true}
	}
	if w := l.waiting[key]; w != nil {
		delete(w, nn)
	}
	l.hold(key, t)
	l.recordStart(key, t.UID, now)
	return admission{ok: true}
}

func max1s(d time.Duration) time.Duration { return max(d, time.Second) }

func (l *ledger) wait(key string, nn types.NamespacedName) {
	if l.waiting[key] == nil {
		l.waiting[key] = map[types.NamespacedName]struct{}{}
	}
	l.waiting[key][nn] = struct{}{}
}

// heldBy returns the UID of the Task known by namespace/name if it holds a slot.
func (l *ledger) heldBy(nn types.NamespacedName) (types.UID, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	uid, ok := l.keys[nn]
	if !ok {
		return "", false
	}
	_, held := l.holder[uid]
	return uid, held
}

// unreserve undoes an admit whose Pod could not be created: the slot and the start are returned.
func (l *ledger) unreserve(uid types.UID) []types.NamespacedName {
	l.mu.Lock()
	defer l.mu.Unlock()
	if key, ok := l.holder[uid]; ok {
		delete(l.starts[key], uid)
	}
	return l.releaseLocked(uid)
}

// release frees the Task's slot (its start stays in the quota window) and returns the Tasks
// waiting for the same Agent, to be woken.
func (l *ledger) release(uid types.UID) []types.NamespacedName {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.releaseLocked(uid)
}

// releaseKey releases the slot of a Task known only by namespace/name (it is already gone).
func (l *ledger) releaseKey(nn types.NamespacedName) []types.NamespacedName {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, w := range l.waiting {
		delete(w, nn)
		if len(w) == 0 {
			delete(l.waiting, key)
		}
	}
	uid, ok := l.keys[nn]
	if !ok {
		return nil
	}
	return l.releaseLocked(uid)
}

func (l *ledger) releaseLocked(uid types.UID) []types.NamespacedName {
	delete(l.stale, uid)
	key, ok := l.holder[uid]
	if !ok {
		return nil
	}
	delete(l.holder, uid)
	delete(l.slots[key], uid)
	if len(l.slots[key]) == 0 {
		delete(l.slots, key)
	}
	if nn, ok := l.names[uid]; ok {
		delete(l.names, uid)
		if l.keys[nn] == uid {
			delete(l.keys, nn)
		}
	}
	woken := make([]types.NamespacedName, 0, len(l.waiting[key]))
	for nn := range l.waiting[key] {
		woken = append(woken, nn)
	}
	return woken
}

// waitingByAgent counts the Tasks waiting for each Agent ("namespace/name").
func (l *ledger) waitingByAgent() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.waiting))
	for key, w := range l.waiting {
		if len(w) > 0 {
			out[key] = len(w)
		}
	}
	return out
}

// forget drops a Task that no longer waits (it started elsewhere, failed or is gone).
func (l *ledger) forget(t *v1alpha1.Task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := taskAgentKey(t)
	if w := l.waiting[key]; w != nil {
		delete(w, types.NamespacedName{Namespace: t.Namespace, Name: t.Name})
		if len(w) == 0 {
			delete(l.waiting, key)
		}
	}
}

// superseded records that the operator replaced resourceVersion rv of the Task with its own
// write.
func (l *ledger) superseded(uid types.UID, rv string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stale[uid] == nil {
		l.stale[uid] = map[string]struct{}{}
	}
	l.stale[uid][rv] = struct{}{}
}

// isStale reports whether the cached Task is older than a write the operator already made; the
// watch event of that write will reconcile it again. A Task at any other version clears the
// record.
func (l *ledger) isStale(uid types.UID, rv string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.stale[uid]
	if !ok {
		return false
	}
	if _, old := s[rv]; old {
		return true
	}
	delete(l.stale, uid)
	return false
}
