package load

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Row is one line of the results table: one scenario and N, one side (bare client, operator, or
// operator to Completed), each figure the median with min–max over the repetitions.
type Row struct {
	Scenario string `json:"scenario"`
	N        int    `json:"n"`
	Side     string `json:"side"`
	Reps     int    `json:"reps"`
	WallS    Spread `json:"wallSeconds"`
	PerSec   Spread `json:"perSecond"`
	P50Ms    Spread `json:"p50Millis"`
	P90Ms    Spread `json:"p90Millis"`
	P99Ms    Spread `json:"p99Millis"`
	// Operator rows only.
	WritesPerTask *Spread `json:"writesPerTask,omitempty"`
	EventsPerTask *Spread `json:"eventsPerTask,omitempty"`
	PeakRSSMiB    *Spread `json:"peakRSSMiB,omitempty"`
	CPUSeconds    *Spread `json:"cpuSeconds,omitempty"`
	Ratio         *Spread `json:"ratio,omitempty"`
}

type groupKey struct {
	label string
	n     int
}

// Summarize groups records by scenario label and N (in first-seen order) and reduces the
// repetitions to rows.
func SummarizeRecords(recs []Record) []Row {
	var order []groupKey
	groups := map[groupKey][]Record{}
	for _, r := range recs {
		k := groupKey{r.Scenario.Label(), r.Scenario.N}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var rows []Row
	for _, k := range order {
		g := groups[k]
		var bare, pods, done, created, ceiling []Result
		for _, r := range g {
			if r.Bare != nil {
				bare = append(bare, *r.Bare)
			}
			if r.TaskCreates != nil {
				ceiling = append(ceiling, *r.TaskCreates)
			}
			pods = append(pods, r.Tasks.Pods)
			if r.Tasks.Created.N > 0 {
				created = append(created, r.Tasks.Created)
			}
			if r.Tasks.Completed != nil {
				done = append(done, *r.Tasks.Completed)
			}
		}
		if len(bare) > 0 {
			rows = append(rows, resultRow(k, "bare client → Pod", bare))
		}
		if len(ceiling) > 0 {
			row := resultRow(k, "Task create calls, no operator (API server's Task ceiling)", ceiling)
			if len(ceiling) == len(bare) {
				row.Ratio = spreadOf(g, func(r Record) float64 {
					if r.Bare == nil || r.TaskCreates == nil || r.Bare.PerSecond == 0 {
						return 0
					}
					return r.TaskCreates.PerSecond / r.Bare.PerSecond
				})
			}
			rows = append(rows, row)
		}
		if len(created) > 0 {
			rows = append(rows, resultRow(k, "Task create calls, with the operator running", created))
		}
		op := resultRow(k, "operator Task → Pod", pods)
		op.WritesPerTask = spreadOf(g, func(r Record) float64 { return r.OperatorWrites / float64(r.Scenario.N) })
		op.EventsPerTask = spreadOf(g, func(r Record) float64 { return r.EventWrites / float64(r.Scenario.N) })
		op.PeakRSSMiB = spreadOf(g, func(r Record) float64 { return float64(r.PeakRSSBytes) / (1 << 20) })
		op.CPUSeconds = spreadOf(g, func(r Record) float64 { return r.CPUSeconds })
		if len(bare) == len(g) {
			op.Ratio = spreadOf(g, func(r Record) float64 { return r.Ratio })
		}
		rows = append(rows, op)
		if len(done) > 0 {
			rows = append(rows, resultRow(k, "Task → Completed (scheduler/kwok-bound)", done))
		}
	}
	return rows
}

func spreadOf(g []Record, f func(Record) float64) *Spread {
	v := make([]float64, 0, len(g))
	for _, r := range g {
		v = append(v, f(r))
	}
	s := SpreadOf(v)
	return &s
}

func resultRow(k groupKey, side string, rs []Result) Row {
	col := func(f func(Result) float64) Spread {
		v := make([]float64, 0, len(rs))
		for _, r := range rs {
			v = append(v, f(r))
		}
		return SpreadOf(v)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Row{
		Scenario: k.label, N: k.n, Side: side, Reps: len(rs),
		WallS:  col(func(r Result) float64 { return r.Wall.Seconds() }),
		PerSec: col(func(r Result) float64 { return r.PerSecond }),
		P50Ms:  col(func(r Result) float64 { return ms(r.Latency.P50) }),
		P90Ms:  col(func(r Result) float64 { return ms(r.Latency.P90) }),
		P99Ms:  col(func(r Result) float64 { return ms(r.Latency.P99) }),
	}
}

// Markdown renders rows as a table; each cell is "median (min–max)" over the repetitions.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("| scenario | N | measured | reps | wall s | per s | p50 ms | p90 ms | p99 ms | writes/Task | events/Task | peak RSS MiB | CPU s | ratio to bare |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	opt := func(s *Spread, prec int) string {
		if s == nil {
			return "–"
		}
		return s.Format(prec)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, r.N, r.Side, r.Reps, r.WallS.Format(1), r.PerSec.Format(0),
			r.P50Ms.Format(0), r.P90Ms.Format(0), r.P99Ms.Format(0),
			opt(r.WritesPerTask, 2), opt(r.EventsPerTask, 2), opt(r.PeakRSSMiB, 0), opt(r.CPUSeconds, 1), opt(r.Ratio, 2))
	}
	return b.String()
}

// WritesBreakdown renders, per record, the counted API writes by key and the operator's own
// client writes, so a reader can check what "writes/Task" summed.
func WritesBreakdown(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		keys := make([]string, 0, len(r.APIWrites))
		for k := range r.APIWrites {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%.0f", k, r.APIWrites[k]))
		}
		fmt.Fprintf(&b, "- %s N=%d rep %d (load %s → %s): API server: %s; operator client: POST=%.0f PUT=%.0f PATCH=%.0f DELETE=%.0f\n",
			r.Scenario.Label(), r.Scenario.N, r.Scenario.Rep, r.LoadAvgBefore, r.LoadAvgAfter, strings.Join(parts, " "),
			r.ClientWrites["POST"], r.ClientWrites["PUT"], r.ClientWrites["PATCH"], r.ClientWrites["DELETE"])
	}
	return b.String()
}
