package setup

import (
	"context"
	"runtime"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// blockingCache is a cache whose WaitForCacheSync returns true once synced is closed.
type blockingCache struct{ synced chan struct{} }

func (b blockingCache) WaitForCacheSync(ctx context.Context) bool {
	select {
	case <-b.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

// TestCacheSyncedCheck: /readyz fails until the caches have synced, then passes, and a stopped
// manager whose caches never synced never passes.
func TestCacheSyncedCheck(t *testing.T) {
	cache := blockingCache{synced: make(chan struct{})}
	c := &cacheSyncedCheck{cache: cache}
	if c.NeedLeaderElection() {
		t.Error("the readiness runnable must run on followers too")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	// Start is running and the caches have not synced: the check must say no, however often.
	for range 100 {
		if err := c.check(nil); err == nil {
			t.Fatal("ready before the caches synced")
		}
		runtime.Gosched()
	}
	close(cache.synced)
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 5*time.Second, true,
		func(context.Context) (bool, error) { return c.check(nil) == nil, nil }); err != nil {
		t.Fatal("not ready after the caches synced")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}

	never := &cacheSyncedCheck{cache: blockingCache{synced: make(chan struct{})}}
	stopped, stop := context.WithCancel(context.Background())
	stop()
	if err := never.Start(stopped); err != nil || never.check(nil) == nil {
		t.Errorf("a manager stopped before its caches synced: Start %v, ready %v", err, never.check(nil) == nil)
	}
}
