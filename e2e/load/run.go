package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measured run.
type Result struct {
	// Name says what was measured, e.g. "bare-client pods" or "operator tasks".
	Name string `json:"name"`
	N    int    `json:"n"`
	// Wall is from the first create call to the last Pod observed.
	Wall time.Duration `json:"wallNanos"`
	// PerSecond is N / Wall.
	PerSecond float64 `json:"perSecond"`
	// Latency is from each object's create call to its Pod observed by the watch.
	Latency Latencies `json:"latencyNanos"`
	// Writes, when measured, counts API writes attributed to the component under test, by kind.
	Writes map[string]float64 `json:"writes,omitempty"`
	// PeakRSSBytes and CPUSeconds of the component's process, when it is a process we started.
	PeakRSSBytes int64   `json:"peakRSSBytes,omitempty"`
	CPUSeconds   float64 `json:"cpuSeconds,omitempty"`
}

// createAll calls create(i) for i in [0, n) from workers goroutines and records when each call
// started, keyed by keyOf(i). It stops at the first error.
func createAll(ctx context.Context, n, workers int, keyOf func(int) string, create func(context.Context, int) error) (map[string]time.Time, error) {
	var (
		mu      sync.Mutex
		started = make(map[string]time.Time, n)
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				at := time.Now()
				mu.Lock()
				started[keyOf(i)] = at
				mu.Unlock()
				if err := create(ctx, i); err != nil {
					errOnce.Do(func() { first = fmt.Errorf("create %d: %w", i, err); cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return started, first
}

// measure turns start and seen times into a Result.
func measure(name string, started, seen map[string]time.Time) Result {
	r := Result{Name: name, N: len(started)}
	var first, last time.Time
	lat := make([]time.Duration, 0, len(seen))
	for k, s := range started {
		if first.IsZero() || s.Before(first) {
			first = s
		}
		at, ok := seen[k]
		if !ok {
			continue
		}
		if at.After(last) {
			last = at
		}
		lat = append(lat, at.Sub(s))
	}
	if !last.IsZero() {
		r.Wall = last.Sub(first)
		if r.Wall > 0 {
			r.PerSecond = float64(len(lat)) / r.Wall.Seconds()
		}
	}
	r.Latency = Summarize(lat)
	return r
}
