package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCountOperatorWrites(t *testing.T) {
	delta := map[string]float64{
		"POST tasks": 1000, // the harness's creates: not the operator's
		"PUT tasks":  1000, "PUT tasks/status": 2000, "POST pods": 1000,
		"POST pods/binding": 1000, "PATCH pods/status": 3000, // scheduler and kwok
		"POST events": 4000, "PUT leases": 30,
		"DELETE pods": 2, "POST configmaps": 5,
	}
	if got, want := CountOperatorWrites(delta), 4007.0; got != want {
		t.Errorf("CountOperatorWrites = %v, want %v", got, want)
	}
}

func TestDeriveEventWrites(t *testing.T) {
	tests := []struct {
		name          string
		client, api   map[string]float64
		want          float64
		whyMeaningful string
	}{
		{"events are what the API server cannot attribute",
			map[string]float64{"POST": 3000, "PUT": 3010},
			map[string]float64{"POST pods": 1000, "PUT tasks": 1000, "PUT tasks/status": 2000, "POST events": 5000},
			2000, "PUTs (Task writes, Lease renewals) never count"},
		{"patched event series count too",
			map[string]float64{"POST": 1500, "PATCH": 600},
			map[string]float64{"POST pods": 1000, "PATCH tasks/status": 100},
			1000, "PATCH tasks/status is the operator's, the rest are Event series"},
		{"the metrics endpoint's reviews are not events",
			map[string]float64{"POST": 1003},
			map[string]float64{"POST pods": 1000, "POST tokenreviews": 1, "POST subjectaccessreviews": 1},
			1, "scraping the operator costs a TokenReview and a SubjectAccessReview"},
		{"nothing", map[string]float64{}, map[string]float64{}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeriveEventWrites(tt.client, tt.api); got != tt.want {
				t.Errorf("DeriveEventWrites = %v, want %v (%s)", got, tt.want, tt.whyMeaningful)
			}
		})
	}
}

func TestClientWrites(t *testing.T) {
	text := `# HELP rest_client_requests_total Number of HTTP requests
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:1",method="GET"} 7
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PUT"} 3043
rest_client_requests_total{code="409",host="127.0.0.1:1",method="PUT"} 2
rest_client_requests_total{code="201",host="127.0.0.1:1",method="POST"} 3005
rest_client_requests_total{code="200",host="127.0.0.1:1",method="delete"} 4
rest_client_requests_totally_other{method="POST"} 99
`
	got, err := ClientWrites(text)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"PUT": 3045, "POST": 3005, "DELETE": 4}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ClientWrites (-want +got):\n%s", d)
	}
}

func TestPhaseAtLeast(t *testing.T) {
	phases := []string{"", "Pending", "Queued", "Running", "Completed", "Failed"}
	want := map[string][]string{
		"Running":   {"Running", "Completed", "Failed"},
		"Completed": {"Completed", "Failed"},
		"":          nil,
	}
	for until, w := range want {
		var got []string
		for _, p := range phases {
			if phaseAtLeast(p, until) {
				got = append(got, p)
			}
		}
		if d := cmp.Diff(w, got); d != "" {
			t.Errorf("phases at least %q (-want +got):\n%s", until, d)
		}
	}
}

func TestAgentObject(t *testing.T) {
	got := AgentObject(AgentOptions{Namespace: "a", Name: "load", AllowedNamespaces: []string{"x-team-*"}, Complete: true}).Object
	want := map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Agent",
		"metadata": map[string]any{"name": "load", "namespace": "a"},
		"spec": map[string]any{
			"workspaceDir": "/workspace", "serviceAccountName": agentServiceAccount,
			"allowedNamespaces": []any{"x-team-*"},
			"podSpec": map[string]any{
				"annotations": map[string]any{kwokExitAnnotation: "0"},
				"scheduling": map[string]any{
					"nodeSelector": map[string]any{"type": "kwok"},
					"tolerations":  []any{map[string]any{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}},
				},
			},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("AgentObject (-want +got):\n%s", d)
	}
	plain := AgentObject(AgentOptions{Namespace: "a", Name: "load"}).Object["spec"].(map[string]any)
	if _, ok := plain["allowedNamespaces"]; ok {
		t.Error("same-namespace Agent has allowedNamespaces")
	}
	if _, ok := plain["podSpec"].(map[string]any)["annotations"]; ok {
		t.Error("Agent without Complete asks kwok to finish its Pods")
	}
}

func TestTaskObject(t *testing.T) {
	got := TaskObject("team", "t-1", "agents", "load", "t-run").Object
	want := map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Task",
		"metadata": map[string]any{"name": "t-1", "namespace": "team", "labels": map[string]any{runLabel: "t-run"}},
		"spec": map[string]any{
			"agentRef":    map[string]any{"name": "load", "namespace": "agents"},
			"description": "load test task t-1",
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("TaskObject (-want +got):\n%s", d)
	}
}

func TestTaskRunNames(t *testing.T) {
	r := TaskRun{RunID: "lab", TaskNamespaces: []string{"a", "b", "c"}, NamePrefix: "t-"}
	var got []string
	for i := range 4 {
		got = append(got, r.taskKey(i))
	}
	want := []string{"a/t-lab-00000", "b/t-lab-00001", "c/t-lab-00002", "a/t-lab-00003"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("task keys (-want +got):\n%s", d)
	}
	if got, want := r.batch(), "t-lab"; got != want {
		t.Errorf("batch = %q, want %q", got, want)
	}
}

func TestScenarioLabel(t *testing.T) {
	tests := map[string]Scenario{
		"burst same-ns":         {Kind: "burst", N: 1000},
		"burst cross-ns":        {Kind: "burst", N: 1000, CrossNamespace: true},
		"steady 10/s same-ns":   {Kind: "steady", Rate: 10},
		"steady 2.5/s cross-ns": {Kind: "steady", Rate: 2.5, CrossNamespace: true},
	}
	for want, s := range tests {
		if got := s.Label(); got != want {
			t.Errorf("%+v.Label() = %q, want %q", s, got, want)
		}
	}
}

func TestCreatePaced(t *testing.T) {
	var mu sync.Mutex
	called := map[int]bool{}
	started, err := createPaced(context.Background(), 5, 1000, func(i int) string { return fmt.Sprint("k", i) },
		func(_ context.Context, i int) error {
			mu.Lock()
			defer mu.Unlock()
			called[i] = true
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true}, called); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	var keys []string
	for i := range 5 {
		if started[fmt.Sprint("k", i)].IsZero() {
			t.Errorf("no start time for k%d", i)
		}
		keys = append(keys, fmt.Sprint("k", i))
	}
	if len(started) != 5 {
		t.Errorf("started has %d keys, want 5: %v", len(started), keys)
	}
	boom := errors.New("boom")
	_, err = createPaced(context.Background(), 3, 1000, func(i int) string { return fmt.Sprint(i) },
		func(_ context.Context, i int) error {
			if i == 1 {
				return boom
			}
			return nil
		})
	if !errors.Is(err, boom) {
		t.Errorf("createPaced error = %v, want %v", err, boom)
	}
}

func TestSummarizeRecords(t *testing.T) {
	res := func(perSec float64, p99 time.Duration) Result {
		return Result{N: 100, Wall: time.Second, PerSecond: perSec, Latency: Latencies{P50: p99 / 2, P90: p99, P99: p99, Max: p99}}
	}
	rec := func(rep int, bare, op float64) Record {
		b := res(bare, 100*time.Millisecond)
		ceiling := res(bare/2, 80*time.Millisecond)
		return Record{
			Scenario: Scenario{Kind: "burst", N: 100, Rep: rep, Bare: true}, Bare: &b, TaskCreates: &ceiling,
			Tasks:          TaskResult{Pods: res(op, 200*time.Millisecond), Created: res(2*op, 50*time.Millisecond)},
			OperatorWrites: 300 + float64(rep), EventWrites: 100, PeakRSSBytes: 50 << 20, CPUSeconds: 1, Ratio: op / bare,
		}
	}
	steady := Record{Scenario: Scenario{Kind: "steady", N: 600, Rate: 10}, Tasks: TaskResult{Pods: res(10, 30*time.Millisecond)},
		OperatorWrites: 1800, EventWrites: 600, PeakRSSBytes: 40 << 20}
	rows := SummarizeRecords([]Record{rec(1, 400, 100), rec(2, 300, 150), rec(3, 500, 50), steady})
	var got []string
	for _, r := range rows {
		line := fmt.Sprintf("%s %d %s reps=%d per=%s p99=%s", r.Scenario, r.N, r.Side, r.Reps, r.PerSec.Format(0), r.P99Ms.Format(0))
		if r.WritesPerTask != nil {
			line += " writes=" + r.WritesPerTask.Format(2) + " events=" + r.EventsPerTask.Format(2)
		}
		if r.Ratio != nil {
			line += " ratio=" + r.Ratio.Format(2)
		}
		got = append(got, line)
	}
	want := []string{
		"burst same-ns 100 bare client → Pod reps=3 per=400 (300–500) p99=100 (100–100)",
		"burst same-ns 100 Task create calls, no operator (API server's Task ceiling) reps=3 per=200 (150–250) p99=80 (80–80) ratio=0.50 (0.50–0.50)",
		"burst same-ns 100 Task create calls, with the operator running reps=3 per=200 (100–300) p99=50 (50–50)",
		"burst same-ns 100 operator Task → Pod reps=3 per=100 (50–150) p99=200 (200–200) writes=3.02 (3.01–3.03) events=1.00 (1.00–1.00) ratio=0.25 (0.10–0.50)",
		"steady 10/s same-ns 600 operator Task → Pod reps=1 per=10 (10–10) p99=30 (30–30) writes=3.00 (3.00–3.00) events=1.00 (1.00–1.00)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	md := Markdown(rows)
	if n := strings.Count(md, "\n"); n != 2+len(rows) {
		t.Errorf("Markdown has %d lines, want %d:\n%s", n, 2+len(rows), md)
	}
}
