package controller

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

func ledgerTask(ns, name, agentNS, agent string) *v1alpha1.Task {
	t := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name)},
		Spec: v1alpha1.TaskSpec{AgentRef: v1alpha1.AgentReference{Name: agent}}}
	if agentNS != ns {
		t.Spec.AgentRef.Namespace = agentNS
	}
	return t
}

// TestLedgerAdmitRelease: the ledger's answers, step by step, for two Agents sharing namespaces.
func TestLedgerAdmitRelease(t *testing.T) {
	l := newLedger()
	now := time.Unix(1000, 0)
	limit := ptr.To[int32](1)
	a1 := ledgerTask("team-a", "one", "agents", "coder")
	b1 := ledgerTask("team-b", "one", "agents", "coder")
	other := ledgerTask("team-b", "two", "agents", "reviewer")
	var got []string
	record := func(step string, adm admission) {
		got = append(got, fmt.Sprintf("%s: ok=%v %s", step, adm.ok, adm.reason))
	}
	record("a1 admitted", l.admit(a1, limit, nil, now))
	record("a1 again (idempotent)", l.admit(a1, limit, nil, now))
	record("b1 waits across namespaces", l.admit(b1, limit, nil, now))
	record("another Agent is independent", l.admit(other, limit, nil, now))
	woken := l.release(a1.UID)
	got = append(got, fmt.Sprintf("release a1 wakes %v", woken))
	record("b1 admitted after the release", l.admit(b1, limit, nil, now))
	got = append(got, fmt.Sprintf("release of a Task holding nothing wakes %v", l.release(a1.UID)))
	want := []string{
		"a1 admitted: ok=true ",
		"a1 again (idempotent): ok=true ",
		"b1 waits across namespaces: ok=false MaxConcurrentTasks",
		"another Agent is independent: ok=true ",
		"release a1 wakes [team-b/one]",
		"b1 admitted after the release: ok=true ",
		"release of a Task holding nothing wakes []",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ledger steps (-want +got):\n%s", d)
	}
}

// TestLedgerNeverExceedsTheLimit drives the ledger with random interleavings of admit, unreserve
// (a Pod create that failed) and release (a Pod that went) over several Agents and limits, and
// checks after every step that no Agent holds more slots than its limit, and that the ledger's
// count matches a model of which Tasks hold a slot (T7).
func TestLedgerNeverExceedsTheLimit(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed*7919))
		l := newLedger()
		now := time.Unix(1000, 0)
		limits := map[string]int32{"agents/a": 1, "agents/b": 2, "agents/c": 3}
		agents := []string{"a", "b", "c"}
		var tasks []*v1alpha1.Task
		for i := range 30 {
			tasks = append(tasks, ledgerTask(fmt.Sprintf("team-%d", i%4), fmt.Sprintf("t%d", i), "agents", agents[i%3]))
		}
		holds := map[types.UID]string{} // the model
		for step := range 400 {
			tk := tasks[rng.IntN(len(tasks))]
			key := taskAgentKey(tk)
			switch op := rng.IntN(3); op {
			case 0:
				lim := limits[key]
				adm := l.admit(tk, &lim, nil, now)
				_, had := holds[tk.UID]
				count := 0
				for _, k := range holds {
					if k == key {
						count++
					}
				}
				if wantOK := had || count < int(lim); adm.ok != wantOK {
					t.Fatalf("seed %d step %d: admit %s ok=%v, want %v (held %v, %d of %d)", seed, step, tk.Name, adm.ok, wantOK, had, count, lim)
				}
				if adm.ok {
					holds[tk.UID] = key
				}
			case 1:
				l.unreserve(tk.UID)
				delete(holds, tk.UID)
			case 2:
				l.release(tk.UID)
				delete(holds, tk.UID)
			}
			for key, lim := range limits {
				if n := len(l.slots[key]); n > int(lim) {
					t.Fatalf("seed %d step %d: Agent %s holds %d slots, limit %d", seed, step, key, n, lim)
				}
				want := 0
				for _, k := range holds {
					if k == key {
						want++
					}
				}
				if n := len(l.slots[key]); n != want {
					t.Fatalf("seed %d step %d: Agent %s holds %d slots, the model %d", seed, step, key, n, want)
				}
			}
		}
	}
}
