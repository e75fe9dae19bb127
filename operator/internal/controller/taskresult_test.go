package controller_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestT23ResultInTask: the agent's exit code and termination message (its result, or the tail
// of its output) reach the Task's status, bounded, and `kubectl get tasks -o wide` shows them
// (the API server's Table for the Task, printer columns of priority 1). The task author reads
// them on the Task in their own namespace; the Pod runs in the Agent's namespace.
func TestT23ResultInTask(t *testing.T) {
	ctx := context.Background()
	agentNS, taskNS := env.Namespace(ctx, t), env.Namespace(ctx, t)
	startOperator(t, []string{agentNS, taskNS})
	ag := agent(agentNS, "coder", func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = []string{taskNS} })
	create(t, ag)

	cases := []struct {
		name     string
		podPhase corev1.PodPhase
		code     int32
		message  string
		want     string
		phase    v1alpha1.TaskPhase
	}{
		{name: "answer", podPhase: corev1.PodSucceeded, message: "Opened PR #12: fix nil map", want: "Opened PR #12: fix nil map", phase: v1alpha1.TaskPhaseCompleted},
		{name: "failure tail", podPhase: corev1.PodFailed, code: 7, message: "error: no tests\n", want: "error: no tests\n", phase: v1alpha1.TaskPhaseFailed},
		{name: "oversized", podPhase: corev1.PodSucceeded, message: strings.Repeat("x", 10000), want: strings.Repeat("x", 4096), phase: v1alpha1.TaskPhaseCompleted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := task(taskNS, strings.ReplaceAll(tc.name, " ", "-"), agentNS, ag.Name)
			create(t, tk)
			pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
			setPodStatus(t, pod, func(s *corev1.PodStatus) {
				s.Phase = tc.podPhase
				s.ContainerStatuses = []corev1.ContainerStatus{{Name: "agent", Image: "x", State: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{ExitCode: tc.code, Message: tc.message}}}}
			})
			got := waitPhase(t, tk, tc.phase)
			if got.Status.ExitCode == nil || *got.Status.ExitCode != tc.code || got.Status.Result != tc.want {
				t.Fatalf("status exitCode %v result %.60q (%d bytes), want %d %.60q (%d bytes)",
					got.Status.ExitCode, got.Status.Result, len(got.Status.Result), tc.code, tc.want, len(tc.want))
			}
			row := tableRow(t, got)
			if diff := cmp.Diff(map[string]any{"Exit Code": float64(tc.code), "Result": tc.want},
				map[string]any{"Exit Code": row["Exit Code"], "Result": row["Result"]}); diff != "" {
				t.Errorf("kubectl get -o wide columns (-want +got):\n%s", diff)
			}
		})
	}
}

// tableRow asks the API server for the Task as a Table (what kubectl get prints) and returns
// its cells by column name, wide columns included.
func tableRow(t *testing.T, tk *v1alpha1.Task) map[string]any {
	t.Helper()
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(env.Config.Host, "/")+"/apis/"+v1alpha1.GroupVersion.String()+
		"/namespaces/"+tk.Namespace+"/tasks/"+tk.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;g=meta.k8s.io;v=v1")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET Table: %d %s %v", resp.StatusCode, raw, err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("table has %d rows", len(table.Rows))
	}
	row := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		row[c.Name] = table.Rows[0].Cells[i]
	}
	return row
}
