package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Latencies
	}{
		{"empty", nil, Latencies{}},
		{"one", ms(7), Latencies{P50: 7 * time.Millisecond, P90: 7 * time.Millisecond, P99: 7 * time.Millisecond, Max: 7 * time.Millisecond}},
		{"hundred unsorted", func() []time.Duration {
			var v []int
			for i := 100; i >= 1; i-- {
				v = append(v, i)
			}
			return ms(v...)
		}(), Latencies{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
		{"ten", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), Latencies{P50: 5 * time.Millisecond, P90: 9 * time.Millisecond, P99: 10 * time.Millisecond, Max: 10 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, Summarize(tt.in)); d != "" {
				t.Errorf("Summarize (-want +got):\n%s", d)
			}
		})
	}
}

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{3, 1, 2}, Spread{Median: 2, Min: 1, Max: 3}},
		{[]float64{4, 1, 3, 2}, Spread{Median: 2.5, Min: 1, Max: 4}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, SpreadOf(tt.in)); d != "" {
			t.Errorf("SpreadOf(%v) (-want +got):\n%s", tt.in, d)
		}
	}
	if got := (Spread{Median: 2.5, Min: 1, Max: 4}).Format(1); got != "2.5 (1.0–4.0)" {
		t.Errorf("Format = %q", got)
	}
}

func TestMeasure(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	started := map[string]time.Time{"a": at(0), "b": at(100), "c": at(200), "d": at(300)}
	seen := map[string]time.Time{"a": at(50), "b": at(300), "c": at(400), "d": at(1000)}
	got := measure("x", started, seen)
	want := Result{Name: "x", N: 4, Wall: time.Second, PerSecond: 4,
		Latency: Latencies{P50: 200 * time.Millisecond, P90: 700 * time.Millisecond, P99: 700 * time.Millisecond, Max: 700 * time.Millisecond}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("measure (-want +got):\n%s", d)
	}
}

func TestCreateAllStopsAtFirstError(t *testing.T) {
	// Calls before index 10 succeed; index 10 fails; later calls block until the failure cancels
	// them. So the number of calls is bounded by 11 plus one blocked call per worker, whatever the
	// scheduling (a create that returned at once could otherwise race through every index before
	// the cancellation lands).
	const workers = 4
	var calls atomic.Int64
	started, err := createAll(context.Background(), 100, workers, func(i int) string { return fmt.Sprint(i) },
		func(ctx context.Context, i int) error {
			calls.Add(1)
			switch {
			case i < 10:
				return nil
			case i == 10:
				return errors.New("boom")
			default:
				<-ctx.Done()
				return ctx.Err()
			}
		})
	if err == nil || !strings.Contains(err.Error(), "create 10: boom") {
		t.Fatalf("createAll error = %v, want the failing index named", err)
	}
	if n := calls.Load(); n > 11+workers {
		t.Errorf("createAll made %d calls; want at most %d after the failure at index 10", n, 11+workers)
	}
	// A worker that drew an index below 10 may see the cancellation before calling create, so
	// fewer than 11 calls can happen; but every call, and only a call, has a start time.
	if int64(len(started)) != calls.Load() {
		t.Errorf("recorded %d start times for %d calls; want one per call", len(started), calls.Load())
	}
	if _, ok := started["10"]; !ok {
		t.Errorf("no start time recorded for the failing index 10")
	}
}
