package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// cacheLagGrace is how long after creating a Task's Pod the operator trusts its own create over
// a cache that does not show the Pod yet: within it a Running Task without a cached Pod is
// rechecked a second later, without a request; past it the API server is asked.
const cacheLagGrace = 10 * time.Second

// recentPods remembers when this process created each Task's Pod, until the cache shows it. Under
// a burst the Pod informer lags behind the operator's own creates, and the status write that
// follows a create reconciles the Task again before its Pod is cached; without this record each
// such reconcile would read the Pod from the API server (about one Task in three in a 3,000-Task
// burst). A Pod deleted before the cache saw it is still found missing, cacheLagGrace later.
type recentPods struct {
	mu      sync.Mutex
	at      map[types.UID]time.Time
	pruneAt int
}

func newRecentPods() *recentPods {
	return &recentPods{at: map[types.UID]time.Time{}, pruneAt: 1024}
}

// add records that the Task's Pod was created at now. Entries older than cacheLagGrace are
// dropped when the map has doubled since the last pruning, so Tasks deleted before their Pod
// was cached do not accumulate.
func (r *recentPods) add(uid types.UID, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at[uid] = now
	if len(r.at) < r.pruneAt {
		return
	}
	for u, t := range r.at {
		if now.Sub(t) >= cacheLagGrace {
			delete(r.at, u)
		}
	}
	r.pruneAt = max(1024, 2*len(r.at))
}

// fresh reports whether the Task's Pod was created by this process less than cacheLagGrace ago.
func (r *recentPods) fresh(uid types.UID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[uid]
	return ok && now.Sub(t) < cacheLagGrace
}

// drop forgets the Task (its Pod is cached, or it ended).
func (r *recentPods) drop(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.at, uid)
}
