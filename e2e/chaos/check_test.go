package chaos

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	a1 = AgentKey{Namespace: "agents", Name: "a1"}
	a2 = AgentKey{Namespace: "agents", Name: "a2"}
)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func pod(uid, taskUID, phase string) Object {
	return Object{Kind: KindPod, UID: uid, Namespace: "agents", Name: "pod-" + uid, TaskUID: taskUID, Agent: a1, Phase: phase}
}

func onAgent(o Object, a AgentKey) Object { o.Agent = a; return o }

func task(uid, phase string) Object {
	return Object{Kind: KindTask, UID: uid, Namespace: "team", Name: "task-" + uid, Agent: a1, Phase: phase}
}

func deleting(o Object) Object { o.Deleting = true; return o }

func ev(sec float64, typ EventType, o Object) Event { return Event{At: at(sec), Type: typ, Object: o} }

// lifecycle is a Task t run by Pod p from second s to s+3, as a correct operator leaves it.
func lifecycle(s float64, t, p string) []Event {
	return []Event{
		ev(s, Added, task(t, "")),
		ev(s+0.1, Modified, task(t, "Pending")),
		ev(s+0.2, Added, pod(p, t, "Pending")),
		ev(s+0.3, Modified, task(t, "Running")),
		ev(s+1, Modified, pod(p, t, "Running")),
		ev(s+3, Modified, pod(p, t, PodSucceeded)),
		ev(s+3.1, Modified, task(t, TaskCompleted)),
	}
}

func concat(parts ...[]Event) []Event {
	var out []Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestCheck(t *testing.T) {
	limit1 := map[AgentKey]int{a1: 1}
	tests := []struct {
		name   string
		events []Event
		limits map[AgentKey]int
		want   Report
	}{{
		name:   "one Task, one Pod, both finished: every invariant holds",
		events: lifecycle(0, "t1", "p1"),
		limits: limit1,
		want: Report{Pods: 1, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}},
			Violations: []string{}},
	}, {
		name: "Tasks one after the other within the limit",
		events: concat(lifecycle(0, "t1", "p1"), lifecycle(3.5, "t2", "p2"),
			// a Pod that released its slot by being deleted, then another starts
			lifecycle(10, "t3", "p3")[:5], []Event{ev(12, Modified, deleting(pod("p3", "t3", "Running")))},
			lifecycle(12.5, "t4", "p4"), []Event{ev(13, Deleted, deleting(pod("p3", "t3", "Running"))), ev(13, Modified, task("t3", TaskFailed))}),
		limits: limit1,
		want: Report{Pods: 4, Tasks: 4, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 4}},
			Violations: []string{}},
	}, {
		name: "a second Pod for the same Task, after the first ended: caught",
		events: concat(lifecycle(0, "t1", "p1")[:6], []Event{
			ev(4, Added, pod("p1b", "t1", "Pending")),
			ev(5, Modified, pod("p1b", "t1", PodSucceeded)),
			ev(5.1, Modified, task("t1", TaskCompleted)),
		}),
		limits: limit1,
		want: Report{Pods: 2, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 2}},
			MultiPodTasks: []TaskPods{{TaskUID: "t1", Pods: []string{"agents/pod-p1", "agents/pod-p1b"}}},
			Violations:    []string{"1 Tasks with more than one Pod"}},
	}, {
		name: "two Pods for the same Task at once: caught, overlapping, and over the limit",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(2, Added, pod("p1b", "t1", "Pending")),
			ev(3, Modified, pod("p1", "t1", PodSucceeded)),
			ev(4, Modified, pod("p1b", "t1", PodSucceeded)),
			ev(4.1, Modified, task("t1", TaskCompleted)),
		}),
		limits: limit1,
		want: Report{Pods: 2, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 2, MaxAt: at(2), Pods: 2}},
			Exceedances:   []Exceedance{{Agent: a1, At: at(2), Count: 2, Limit: 1, Pod: "agents/pod-p1b"}},
			MultiPodTasks: []TaskPods{{TaskUID: "t1", Pods: []string{"agents/pod-p1", "agents/pod-p1b"}, Overlapped: true}},
			Violations:    []string{"1 Tasks with more than one Pod", "2 Pods counted at once on Agent agents/a1, over its maxConcurrentTasks 1"}},
	}, {
		name:   "a Pod created while another Task's Pod still runs: over the limit",
		events: concat(lifecycle(0, "t1", "p1")[:5], lifecycle(1.5, "t2", "p2"), lifecycle(0, "t1", "p1")[5:]),
		limits: limit1,
		want: Report{Pods: 2, Tasks: 2, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 2, MaxAt: at(1.7), Pods: 2}},
			Exceedances: []Exceedance{{Agent: a1, At: at(1.7), Count: 2, Limit: 1, Pod: "agents/pod-p2"}},
			Violations:  []string{"2 Pods counted at once on Agent agents/a1, over its maxConcurrentTasks 1"}},
	}, {
		name: "limits are per Agent: one Pod on each of two Agents with limit 1",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(0.5, Added, task("t2", "")),
			ev(0.6, Added, onAgent(pod("p2", "t2", "Pending"), a2)),
			ev(1.2, Modified, onAgent(pod("p2", "t2", PodSucceeded), a2)),
			ev(1.3, Modified, task("t2", TaskCompleted)),
		}, lifecycle(0, "t1", "p1")[5:]),
		limits: map[AgentKey]int{a1: 1, a2: 1},
		want: Report{Pods: 2, Tasks: 2, Agents: []AgentReport{
			{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1},
			{Agent: a2, Limit: 1, MaxObserved: 1, MaxAt: at(0.6), Pods: 1}},
			Violations: []string{}},
	}, {
		name: "a Pod first seen terminal or deleting never counts",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(1.5, Added, task("t2", TaskCompleted)),
			ev(1.5, Relisted, pod("p2", "t2", PodSucceeded)),
			ev(1.6, Added, task("t3", TaskFailed)),
			ev(1.6, Added, deleting(pod("p3", "t3", "Running"))),
			ev(1.7, Deleted, deleting(pod("p3", "t3", "Running"))),
		}, lifecycle(0, "t1", "p1")[5:]),
		limits: limit1,
		want: Report{Pods: 3, Tasks: 3, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 3}},
			Violations: []string{}},
	}, {
		name: "finalizer stripped and Task deleted while its Pod runs: orphan caught",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(2, Deleted, task("t1", "Running")),
		}),
		limits: limit1,
		want: Report{Pods: 1, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}},
			OrphanRunning: []Object{pod("p1", "t1", "Running")},
			OrphanAny:     []Object{pod("p1", "t1", "Running")},
			Violations:    []string{"1 non-terminated Pods without a live non-final Task at the end", "1 Pods without a live Task at the end"}},
	}, {
		name: "orphan delete frees the slot for another Task while the orphan runs: both caught",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(2, Modified, deleting(task("t1", "Running"))),
			ev(2.1, Deleted, deleting(task("t1", "Running"))),
		}, lifecycle(3, "t2", "p2")),
		limits: limit1,
		want: Report{Pods: 2, Tasks: 2, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 2, MaxAt: at(3.2), Pods: 2}},
			Exceedances:   []Exceedance{{Agent: a1, At: at(3.2), Count: 2, Limit: 1, Pod: "agents/pod-p2", Orphans: 1}},
			OrphanRunning: []Object{pod("p1", "t1", "Running")},
			OrphanAny:     []Object{pod("p1", "t1", "Running")},
			Violations: []string{"2 Pods counted at once on Agent agents/a1, over its maxConcurrentTasks 1",
				"1 non-terminated Pods without a live non-final Task at the end", "1 Pods without a live Task at the end"}},
	}, {
		name: "the Task watch lags: the slot-freeing delete is seen after the Pod it let in, still an orphan",
		events: concat(lifecycle(0, "t1", "p1")[:5], lifecycle(3, "t2", "p2")[:3], []Event{
			ev(3.3, Deleted, task("t1", "Running")),
		}, lifecycle(3, "t2", "p2")[3:]),
		limits: limit1,
		want: Report{Pods: 2, Tasks: 2, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 2, MaxAt: at(3.2), Pods: 2}},
			Exceedances:   []Exceedance{{Agent: a1, At: at(3.2), Count: 2, Limit: 1, Pod: "agents/pod-p2", Orphans: 1}},
			OrphanRunning: []Object{pod("p1", "t1", "Running")},
			OrphanAny:     []Object{pod("p1", "t1", "Running")},
			Violations: []string{"2 Pods counted at once on Agent agents/a1, over its maxConcurrentTasks 1",
				"1 non-terminated Pods without a live non-final Task at the end", "1 Pods without a live Task at the end"}},
	}, {
		name: "forged Completed while the Pod runs: caught",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(2, Modified, task("t1", TaskCompleted)),
		}),
		limits: limit1,
		want: Report{Pods: 1, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}},
			OrphanRunning: []Object{pod("p1", "t1", "Running")},
			Violations:    []string{"1 non-terminated Pods without a live non-final Task at the end"}},
	}, {
		name: "forged Completed, then the operator deletes the Pod and corrects the Task: holds",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(2, Modified, task("t1", TaskCompleted)),
			ev(2.5, Modified, deleting(pod("p1", "t1", "Running"))),
			ev(2.6, Modified, task("t1", TaskFailed)),
			ev(3, Deleted, deleting(pod("p1", "t1", "Running"))),
		}),
		limits: limit1,
		want: Report{Pods: 1, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}},
			Violations: []string{}},
	}, {
		name: "a Task being deleted with its Pod still running: orphan and not final",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(2, Modified, deleting(task("t1", "Running"))),
		}),
		limits: limit1,
		want: Report{Pods: 1, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}},
			OrphanRunning: []Object{pod("p1", "t1", "Running")},
			NonFinalTasks: []Object{deleting(task("t1", "Running"))},
			DeletingTasks: []Object{deleting(task("t1", "Running"))},
			Violations:    []string{"1 non-terminated Pods without a live non-final Task at the end", "1 Tasks not final at the end"}},
	}, {
		name: "a finished Pod left behind by a deleted Task: caught (the garbage collector had its time)",
		events: concat(lifecycle(0, "t1", "p1"), []Event{
			ev(5, Deleted, task("t1", TaskCompleted)),
		}),
		limits: limit1,
		want: Report{Pods: 1, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}},
			OrphanAny:  []Object{pod("p1", "t1", PodSucceeded)},
			Violations: []string{"1 Pods without a live Task at the end"}},
	}, {
		name:   "a Task that never ends: caught",
		events: lifecycle(0, "t1", "p1")[:4],
		limits: limit1,
		want: Report{Pods: 1, Tasks: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}},
			OrphanRunning: nil,
			NonFinalTasks: []Object{task("t1", "Running")},
			Violations:    []string{"1 Tasks not final at the end"}},
	}, {
		name: "a Pod without the Task-UID label: caught",
		events: []Event{
			ev(0, Added, pod("p1", "", PodSucceeded)),
		},
		limits: limit1,
		want: Report{Pods: 1, Agents: []AgentReport{{Agent: a1, Limit: 1, Pods: 1}},
			Unlabelled: []Object{pod("p1", "", PodSucceeded)},
			Violations: []string{"1 Pods without a Task-UID label"}},
	}, {
		name: "across a gap: a vanished Pod frees its slot, a relisted Pod takes one",
		events: concat(lifecycle(0, "t1", "p1")[:5], []Event{
			ev(5, Vanished, pod("p1", "t1", "Running")),
			ev(5, Relisted, task("t1", TaskFailed)),
			ev(5, Relisted, task("t2", "Running")),
			ev(5, Relisted, pod("p2", "t2", "Running")),
			ev(6, Modified, pod("p2", "t2", PodSucceeded)),
			ev(6.1, Modified, task("t2", TaskCompleted)),
		}),
		limits: limit1,
		want: Report{Pods: 2, Tasks: 2, Agents: []AgentReport{{Agent: a1, Limit: 1, MaxObserved: 1, MaxAt: at(0.2), Pods: 2}},
			Violations: []string{}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(Timeline{Events: tc.events}, tc.limits)
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Check (-want +got):\n%s", d)
			}
			if got.OK() != (len(tc.want.Violations) == 0) {
				t.Errorf("OK() = %v with violations %q", got.OK(), got.Violations)
			}
		})
	}
}

func TestCheckKeepsGaps(t *testing.T) {
	gaps := []Gap{{Kind: KindPod, From: at(1), To: at(2)}}
	got := Check(Timeline{Events: lifecycle(0, "t1", "p1"), Gaps: gaps}, nil)
	if d := cmp.Diff(gaps, got.Gaps); d != "" {
		t.Errorf("gaps (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]AgentReport{{Agent: a1, MaxObserved: 1, MaxAt: at(0.2), Pods: 1}}, got.Agents); d != "" || !got.OK() {
		t.Errorf("an Agent without a known limit is never over it (-want +got):\n%s\nviolations: %q", d, got.Violations)
	}
}

func TestConverged(t *testing.T) {
	orphaned := concat(lifecycle(0, "t1", "p1")[:5], []Event{ev(2, Deleted, task("t1", "Running"))})
	tests := []struct {
		name   string
		events []Event
		after  time.Time
		want   time.Duration
		wantOK bool
	}{{
		name:   "already settled at the last fault",
		events: lifecycle(0, "t1", "p1"),
		after:  at(10),
		want:   0, wantOK: true,
	}, {
		name:  "empty timeline",
		after: at(10),
		want:  0, wantOK: true,
	}, {
		name:   "settles 2.1 s after the fault (the Task completes)",
		events: lifecycle(0, "t1", "p1"),
		after:  at(1),
		want:   2100 * time.Millisecond, wantOK: true,
	}, {
		name:   "settles, breaks again, settles for good: the last time counts",
		events: concat(lifecycle(0, "t1", "p1"), lifecycle(5, "t2", "p2")),
		after:  at(1),
		want:   7100 * time.Millisecond, wantOK: true,
	}, {
		name:   "an orphan Pod keeps it unsettled",
		events: orphaned,
		after:  at(1),
		wantOK: false,
	}, {
		name:   "the orphan goes after 4 s",
		events: concat(orphaned, []Event{ev(5, Modified, deleting(pod("p1", "t1", "Running"))), ev(5.2, Deleted, deleting(pod("p1", "t1", "Running")))}),
		after:  at(1.2),
		want:   4 * time.Second, wantOK: true,
	}, {
		name:   "settled by an event before the fault, nothing after",
		events: lifecycle(0, "t1", "p1"),
		after:  at(3.1),
		want:   0, wantOK: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Converged(Timeline{Events: tc.events}, tc.after)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Converged = %s, %v; want %s, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
