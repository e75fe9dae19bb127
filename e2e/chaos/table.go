package chaos

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the figures of a run: phases (faults and convergence), escapes, capacity per
// Agent and the invariants, ending with a one-line verdict.
func Markdown(r Results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	secs := func(v []float64) string {
		if len(v) == 0 {
			return ""
		}
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf("%.1f s", x)
		}
		return " (" + strings.Join(s, ", ") + ")"
	}
	w("| Phase | Tasks | Operator SIGKILLs | API server restarts (down) | Leader kills (takeover) | Escapes tried / refused | Converged after last fault |\n")
	w("|---|---:|---:|---|---|---:|---|\n")
	for _, p := range r.Phases {
		tried, refused := 0, 0
		for _, s := range p.Escapes {
			tried += s.Tried
			refused += s.Refused
		}
		conv := "**not converged**"
		if p.Converged {
			conv = fmt.Sprintf("%.1f s", p.ConvergenceSeconds)
		}
		leader := "–"
		if p.LeaderElection {
			leader = fmt.Sprintf("%d%s", p.LeaderKills, secs(p.TakeoverSecs))
		}
		kills := fmt.Sprint(p.OperatorKills)
		if p.OperatorExits > 0 {
			kills += fmt.Sprintf(" (+%d exits)", p.OperatorExits)
		}
		w("| %s | %d | %s | %d%s | %s | %d / %d | %s |\n", p.Name, p.Tasks, kills, p.APIServerRestarts, secs(p.APIServerDownSecs), leader, tried, refused, conv)
	}
	w("\n| Escape | Tried | Refused | Errors | Tasks recreated |\n|---|---:|---:|---:|---:|\n")
	for _, k := range EscapeKinds {
		var s EscapeStats
		for _, p := range r.Phases {
			ps := p.Escapes[k]
			s.Tried += ps.Tried
			s.Refused += ps.Refused
			s.Errors += ps.Errors
			s.Recreated += ps.Recreated
		}
		w("| %s | %d | %d | %d | %d |\n", k, s.Tried, s.Refused, s.Errors, s.Recreated)
	}
	w("\n| Agent | maxConcurrentTasks | Max Pods at once (observed) | Pods |\n|---|---:|---:|---:|\n")
	for _, a := range r.Report.Agents {
		limit := "–"
		if a.Limit > 0 {
			limit = fmt.Sprint(a.Limit)
		}
		mark := ""
		if a.Limit > 0 && a.MaxObserved > a.Limit {
			mark = " **over**"
		}
		w("| %s | %s | %d%s | %d |\n", a.Agent, limit, a.MaxObserved, mark, a.Pods)
	}
	rep := r.Report
	over := 0
	for _, a := range rep.Agents {
		if a.Limit > 0 && a.MaxObserved > a.Limit {
			over++
		}
	}
	w("\n| Invariant | Violations |\n|---|---:|\n")
	w("| Tasks with more than one Pod | %d |\n", len(rep.MultiPodTasks))
	unexplained := 0
	for _, e := range rep.Exceedances {
		if e.Orphans == 0 {
			unexplained++
		}
	}
	w("| Agents over maxConcurrentTasks at some moment (Pod creations that went over; of those, with no orphan Pod holding a slot) | %d (%d; %d) |\n", over, len(rep.Exceedances), unexplained)
	w("| Non-terminated Pods without a live non-final Task, at the end | %d |\n", len(rep.OrphanRunning))
	w("| Pods without a live Task, at the end | %d |\n", len(rep.OrphanAny))
	w("| Tasks not final, at the end | %d |\n", len(rep.NonFinalTasks))
	w("| Pods without a Task-UID label | %d |\n", len(rep.Unlabelled))
	var gap time.Duration
	for _, g := range rep.Gaps {
		gap += g.To.Sub(g.From)
	}
	w("\nObserved: %d Pods, %d Tasks; %d watch gaps (relists) totalling %.1f s.\n", rep.Pods, rep.Tasks, len(rep.Gaps), gap.Seconds())
	if rep.OK() {
		w("\nRESULT: every invariant held.\n")
	} else {
		w("\nRESULT: %d invariants broken: %s.\n", len(rep.Violations), strings.Join(rep.Violations, "; "))
	}
	return b.String()
}
