package setup

import (
	"context"
	"testing"
	"time"
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
	for range 5 {
		if err := c.check(nil); err == nil {
			t.Fatal("ready before the caches synced")
		}
		time.Sleep(10 * time.Millisecond) // give Start a chance to run: it must still say no
	}
	close(cache.synced)
	deadline := time.Now().Add(5 * time.Second)
	for c.check(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("not ready after the caches synced")
		}
		time.Sleep(time.Millisecond)
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
