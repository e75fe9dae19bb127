package load

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Latencies summarizes a set of durations.
type Latencies struct {
	P50, P90, P99, Max time.Duration
}

// Summarize returns nearest-rank percentiles of d (which it sorts in place).
func Summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(d)))) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return Latencies{P50: rank(50), P90: rank(90), P99: rank(99), Max: d[len(d)-1]}
}

// Spread is the median of repeated measurements with their range.
type Spread struct {
	Median, Min, Max float64
}

// SpreadOf returns the median, minimum and maximum of v (sorted in place). The median of an even
// count is the mean of the two middle values.
func SpreadOf(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Spread{Median: m, Min: v[0], Max: v[len(v)-1]}
}

// String formats a spread as "median (min–max)" with the given precision.
func (s Spread) Format(prec int) string {
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, s.Median, prec, s.Min, prec, s.Max)
}
