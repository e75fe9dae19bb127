package chaos

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

func TestMarkdown(t *testing.T) {
	// A run with a forged status left running and an Agent over its limit.
	events := concat(lifecycle(0, "t1", "p1")[:5], []Event{ev(2, Modified, task("t1", TaskCompleted))}, lifecycle(2.5, "t2", "p2"))
	res := Results{
		Phases: []PhaseResult{
			{Name: "1: kills", Tasks: 2, Replicas: 1, OperatorKills: 7, OperatorExits: 1, APIServerRestarts: 2, APIServerDownSecs: []float64{3.21, 4},
				Escapes: map[EscapeKind]EscapeStats{ForgeStatus: {Tried: 1}, StripFinalizer: {Tried: 2, Refused: 2}}, Converged: false},
			{Name: "2: leader", Tasks: 1, Replicas: 2, LeaderElection: true, OperatorKills: 1, LeaderKills: 1, TakeoverSecs: []float64{16.04},
				Escapes: map[EscapeKind]EscapeStats{OrphanDelete: {Tried: 1, Recreated: 1}}, Converged: true, ConvergenceSeconds: 8.25},
		},
		Report: Check(Timeline{Events: events, Gaps: []Gap{{Kind: KindPod, From: at(1), To: at(2.5)}}}, map[AgentKey]int{a1: 1}),
	}
	golden(t, "table.md", Markdown(res))
}

func TestMarkdownAllHeld(t *testing.T) {
	res := Results{Report: Check(Timeline{Events: lifecycle(0, "t1", "p1")}, map[AgentKey]int{a1: 1})}
	golden(t, "table-ok.md", Markdown(res))
}

func TestPlan(t *testing.T) {
	s := DefaultSpec()
	tasks, victims := Plan(s, 400, "p1-", 5, rand.New(rand.NewPCG(1, 0)))
	if len(tasks) != 400 {
		t.Fatalf("planned %d Tasks, want 400", len(tasks))
	}
	perNS, perAgent := map[string]int{}, map[AgentKey]int{}
	names := map[string]bool{}
	for _, p := range tasks {
		perNS[p.ns]++
		perAgent[p.agent]++
		names[p.name] = true
	}
	if d := cmp.Diff(map[string]int{"chaos-a": 100, "chaos-b": 100, "chaos-c": 100, "chaos-d": 100}, perNS); d != "" {
		t.Errorf("Tasks per namespace (-want +got):\n%s", d)
	}
	if len(names) != 400 {
		t.Errorf("%d distinct names, want 400", len(names))
	}
	// Proportional to the limits 4:8:16, loosely.
	if !(perAgent[s.Agents[0].Key] < perAgent[s.Agents[1].Key] && perAgent[s.Agents[1].Key] < perAgent[s.Agents[2].Key]) {
		t.Errorf("Tasks per Agent %v, want increasing with the limit", perAgent)
	}
	kinds := map[EscapeKind]int{}
	for i, k := range victims {
		kinds[k]++
		same := tasks[i].ns == tasks[i].agent.Namespace
		if k == StripFinalizer && same {
			t.Errorf("finalizer-strip victim %v is a same-namespace Task (no finalizer there)", tasks[i])
		}
		if k == OrphanDelete && !same {
			t.Errorf("orphan-delete victim %v is a cross-namespace Task (no owner reference there)", tasks[i])
		}
	}
	if d := cmp.Diff(map[EscapeKind]int{StripFinalizer: 5, OrphanDelete: 5, ForgeStatus: 5}, kinds); d != "" {
		t.Errorf("victims per escape (-want +got):\n%s", d)
	}
}
