package chaos

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// AgentReport is one Agent's capacity over the timeline.
type AgentReport struct {
	Agent AgentKey `json:"agent"`
	// Limit is its maxConcurrentTasks; 0: none known (never exceeded).
	Limit int `json:"limit"`
	// MaxObserved is the most counted Pods it had at any point of the timeline, MaxAt when first.
	MaxObserved int       `json:"maxObserved"`
	MaxAt       time.Time `json:"maxAt"`
	// Pods is how many distinct Pods it ran.
	Pods int `json:"pods"`
}

// Exceedance is a moment an Agent went over its limit.
type Exceedance struct {
	Agent AgentKey  `json:"agent"`
	At    time.Time `json:"at"`
	Count int       `json:"count"`
	Limit int       `json:"limit"`
	// Pod is the Pod whose creation went over.
	Pod string `json:"pod"`
	// Orphans: how many of the Agent's counted Pods then were orphans, Pods that at some point
	// of the timeline were still counted while their Task was gone, being deleted or final (an
	// escape or a lost cleanup freed their slots). Judged over the whole timeline because the
	// Task watch may lag the Pod watch. 0 means the operator over-admitted on its own.
	Orphans int `json:"orphans"`
}

// TaskPods is a Task UID that had more than one Pod.
type TaskPods struct {
	TaskUID string   `json:"taskUID"`
	Pods    []string `json:"pods"`
	// Overlapped: two of them were counted at the same moment.
	Overlapped bool `json:"overlapped"`
}

// Report is what Check found.
type Report struct {
	// Pods and Tasks: distinct UIDs seen.
	Pods  int `json:"pods"`
	Tasks int `json:"tasks"`
	// Agents, ordered by namespace and name.
	Agents      []AgentReport `json:"agents"`
	Exceedances []Exceedance  `json:"exceedances,omitempty"`
	// MultiPodTasks: Tasks with more than one Pod over the whole timeline.
	MultiPodTasks []TaskPods `json:"multiPodTasks,omitempty"`
	// End state (the last event's). OrphanRunning: non-terminated Pods not being deleted whose
	// Task is gone, being deleted or final. OrphanAny: Pods, in any state, whose Task is gone.
	// NonFinalTasks: Tasks not Completed or Failed. DeletingTasks: Tasks still carrying a
	// deletionTimestamp (informational).
	OrphanRunning []Object `json:"orphanRunning,omitempty"`
	OrphanAny     []Object `json:"orphanAny,omitempty"`
	NonFinalTasks []Object `json:"nonFinalTasks,omitempty"`
	DeletingTasks []Object `json:"deletingTasks,omitempty"`
	// Unlabelled: Pods without a Task-UID label (cannot belong to any Task).
	Unlabelled []Object `json:"unlabelled,omitempty"`
	// Gaps of the observation; invariants hold for what was observed.
	Gaps []Gap `json:"gaps,omitempty"`
	// Violations says, one line per broken invariant, what broke; empty: every invariant held.
	Violations []string `json:"violations"`
}

// OK reports whether every invariant held.
func (r Report) OK() bool { return len(r.Violations) == 0 }

// replay is the cluster state rebuilt from a timeline.
type replay struct {
	pods, tasks map[string]Object
	// podsOfTask: every Pod UID ever seen per Task UID, in order of appearance.
	podsOfTask map[string][]string
	podNames   map[string]string
	// counted: Pods holding a slot now; once released a Pod never counts again.
	counted, released map[string]bool
	running           map[AgentKey]int
	agents            map[AgentKey]*AgentReport
	overlap           map[string]bool
	limits            map[AgentKey]int
	exceed            []Exceedance
	// outliving: Pods seen counted while their Task was gone, being deleted or final; known
	// (from an earlier pass over the same timeline) says which Pods will be.
	outliving, known map[string]bool
}

func newReplay(limits map[AgentKey]int) *replay {
	r := &replay{pods: map[string]Object{}, tasks: map[string]Object{}, podsOfTask: map[string][]string{},
		podNames: map[string]string{}, counted: map[string]bool{}, released: map[string]bool{},
		running: map[AgentKey]int{}, agents: map[AgentKey]*AgentReport{}, overlap: map[string]bool{}, limits: limits,
		outliving: map[string]bool{}, known: map[string]bool{}}
	for a, l := range limits {
		r.agents[a] = &AgentReport{Agent: a, Limit: l}
	}
	return r
}

func (r *replay) apply(ev Event) {
	o := ev.Object
	gone := ev.Type == Deleted || ev.Type == Vanished
	if o.Kind == KindTask {
		if gone {
			delete(r.tasks, o.UID)
		} else {
			r.tasks[o.UID] = o
		}
		if gone || o.Deleting || o.taskFinal() {
			for _, p := range r.podsOfTask[o.UID] {
				if r.counted[p] {
					r.outliving[p] = true
				}
			}
		}
		return
	}
	defer func() {
		if t, live := r.tasks[o.TaskUID]; r.counted[o.UID] && (!live || t.Deleting || t.taskFinal()) {
			r.outliving[o.UID] = true
		}
	}()
	ar := r.agents[o.Agent]
	if ar == nil {
		ar = &AgentReport{Agent: o.Agent}
		r.agents[o.Agent] = ar
	}
	if _, seen := r.podNames[o.UID]; !seen {
		r.podNames[o.UID] = o.Ref()
		r.podsOfTask[o.TaskUID] = append(r.podsOfTask[o.TaskUID], o.UID)
		ar.Pods++
	}
	if gone {
		delete(r.pods, o.UID)
	} else {
		r.pods[o.UID] = o
	}
	switch {
	case r.counted[o.UID] && (gone || !o.podCounted()):
		delete(r.counted, o.UID)
		r.released[o.UID] = true
		r.running[o.Agent]--
	case !r.counted[o.UID] && !r.released[o.UID] && !gone && o.podCounted():
		r.counted[o.UID] = true
		r.running[o.Agent]++
		n := r.running[o.Agent]
		if n > ar.MaxObserved {
			ar.MaxObserved, ar.MaxAt = n, ev.At
		}
		if l := r.limits[o.Agent]; l > 0 && n > l {
			r.exceed = append(r.exceed, Exceedance{Agent: o.Agent, At: ev.At, Count: n, Limit: l, Pod: o.Ref(), Orphans: r.orphansOn(o.Agent)})
		}
		for _, other := range r.podsOfTask[o.TaskUID] {
			if other != o.UID && r.counted[other] {
				r.overlap[o.TaskUID] = true
			}
		}
	}
}

// orphansOn counts the counted Pods of agent that are orphans (see Exceedance.Orphans).
func (r *replay) orphansOn(agent AgentKey) int {
	n := 0
	for uid := range r.counted {
		p := r.pods[uid]
		if p.Agent == agent && (r.known[uid] || r.outliving[uid]) {
			n++
		}
	}
	return n
}

// endState is what the settled-state invariants say about the current state.
type endState struct {
	orphanRunning, orphanAny, nonFinal, deleting, unlabelled []Object
}

// settled is end().settled() without building the lists: the end-state invariants hold now.
func (r *replay) settled() bool {
	for _, t := range r.tasks {
		if !t.taskFinal() {
			return false
		}
	}
	for _, p := range r.pods {
		t, live := r.tasks[p.TaskUID]
		if p.TaskUID == "" || !live || (p.podCounted() && (t.Deleting || t.taskFinal())) {
			return false
		}
	}
	return true
}

func (r *replay) end() endState {
	var e endState
	for _, p := range r.pods {
		if p.TaskUID == "" {
			e.unlabelled = append(e.unlabelled, p)
			continue
		}
		t, live := r.tasks[p.TaskUID]
		if !live {
			e.orphanAny = append(e.orphanAny, p)
		}
		if p.podCounted() && (!live || t.Deleting || t.taskFinal()) {
			e.orphanRunning = append(e.orphanRunning, p)
		}
	}
	for _, t := range r.tasks {
		if !t.taskFinal() {
			e.nonFinal = append(e.nonFinal, t)
		}
		if t.Deleting {
			e.deleting = append(e.deleting, t)
		}
	}
	for _, s := range []*[]Object{&e.orphanRunning, &e.orphanAny, &e.nonFinal, &e.deleting, &e.unlabelled} {
		slices.SortFunc(*s, func(a, b Object) int { return cmp.Or(cmp.Compare(a.Ref(), b.Ref()), cmp.Compare(a.UID, b.UID)) })
	}
	return e
}

// Check replays the timeline and judges the invariants; limits are the Agents'
// maxConcurrentTasks. The end-state invariants are judged on the timeline's last state, so the
// caller records until the run settled (or a bound passed).
func Check(tl Timeline, limits map[AgentKey]int) Report {
	first := newReplay(limits)
	for _, ev := range tl.Events {
		first.apply(ev)
	}
	r := newReplay(limits)
	r.known = first.outliving
	for _, ev := range tl.Events {
		r.apply(ev)
	}
	e := r.end()
	rep := Report{Pods: len(r.podNames), Exceedances: r.exceed, Gaps: tl.Gaps,
		OrphanRunning: e.orphanRunning, OrphanAny: e.orphanAny, NonFinalTasks: e.nonFinal,
		DeletingTasks: e.deleting, Unlabelled: e.unlabelled, Violations: []string{}}
	tasks := map[string]bool{}
	for _, ev := range tl.Events {
		if ev.Object.Kind == KindTask {
			tasks[ev.Object.UID] = true
		}
	}
	rep.Tasks = len(tasks)
	for _, a := range slices.SortedFunc(maps.Keys(r.agents), func(a, b AgentKey) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	}) {
		rep.Agents = append(rep.Agents, *r.agents[a])
	}
	for _, uid := range slices.Sorted(maps.Keys(r.podsOfTask)) {
		pods := r.podsOfTask[uid]
		if uid == "" || len(pods) < 2 {
			continue
		}
		tp := TaskPods{TaskUID: uid, Overlapped: r.overlap[uid]}
		for _, p := range pods {
			tp.Pods = append(tp.Pods, r.podNames[p])
		}
		rep.MultiPodTasks = append(rep.MultiPodTasks, tp)
	}
	add := func(n int, format string, args ...any) {
		if n > 0 {
			rep.Violations = append(rep.Violations, fmt.Sprintf("%d %s", n, fmt.Sprintf(format, args...)))
		}
	}
	add(len(rep.MultiPodTasks), "Tasks with more than one Pod")
	for _, a := range rep.Agents {
		if a.Limit > 0 && a.MaxObserved > a.Limit {
			add(a.MaxObserved, "Pods counted at once on Agent %s, over its maxConcurrentTasks %d", a.Agent, a.Limit)
		}
	}
	add(len(rep.OrphanRunning), "non-terminated Pods without a live non-final Task at the end")
	add(len(rep.OrphanAny), "Pods without a live Task at the end")
	add(len(rep.NonFinalTasks), "Tasks not final at the end")
	add(len(rep.Unlabelled), "Pods without a Task-UID label")
	return rep
}

// Converged says when, after the instant after (the last fault), the state last became settled
// (every Task final or deleted, every Pod with a live Task, no non-terminated Pod without a
// live non-final Task) and stayed so to the end of the timeline: the time to converge, 0 when it
// already was settled at after. ok is false when the timeline ends unsettled.
func Converged(tl Timeline, after time.Time) (d time.Duration, ok bool) {
	r := newReplay(nil)
	settledSince := after
	wasSettled := true
	for i, ev := range tl.Events {
		r.apply(ev)
		// Only the state at after and later matters; states between events before it are
		// skipped, except the last one (the state at after).
		if ev.At.Before(after) && i+1 < len(tl.Events) && tl.Events[i+1].At.Before(after) {
			continue
		}
		s := r.settled()
		switch {
		case s && !wasSettled:
			settledSince = maxTime(ev.At, after)
		case !s:
			settledSince = time.Time{}
		}
		wasSettled = s
	}
	if !wasSettled || settledSince.IsZero() {
		return 0, false
	}
	return settledSince.Sub(after), true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
