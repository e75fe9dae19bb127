package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeopencode/kubeopencode/e2e/load"
)

func TestParseInts(t *testing.T) {
	got, err := parseInts(" 1000, 3000,")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{1000, 3000}, got); d != "" {
		t.Errorf("parseInts (-want +got):\n%s", d)
	}
	for _, bad := range []string{"0", "-1", "x", "10,ten"} {
		if _, err := parseInts(bad); err == nil {
			t.Errorf("parseInts(%q) accepted", bad)
		}
	}
}

func TestScenarios(t *testing.T) {
	o := options{ns: []int{10, 30}, reps: 2, crossN: 10, crossNamespaces: 4, steadyRate: 5,
		steadyDuration: 2 * time.Second, steadyReps: 1, memoryN: 100, memoryReps: 1}
	want := []load.Scenario{
		{Kind: "burst", N: 10, Rep: 1, Bare: true},
		{Kind: "burst", N: 30, Rep: 1, Bare: true},
		{Kind: "burst", N: 10, Rep: 1, Bare: true, CrossNamespace: true, TeamNamespaces: 4},
		{Kind: "burst", N: 10, Rep: 2, Bare: true},
		{Kind: "burst", N: 30, Rep: 2, Bare: true},
		{Kind: "burst", N: 10, Rep: 2, Bare: true, CrossNamespace: true, TeamNamespaces: 4},
		{Kind: "steady", N: 10, Rep: 1, Rate: 5},
		{Kind: "burst", N: 100, Rep: 1},
	}
	if d := cmp.Diff(want, scenarios(o)); d != "" {
		t.Errorf("scenarios (-want +got):\n%s", d)
	}
	if got := scenarios(options{ns: []int{10}, reps: 1}); len(got) != 1 {
		t.Errorf("with cross, steady and memory off: %d scenarios, want 1", len(got))
	}
}
