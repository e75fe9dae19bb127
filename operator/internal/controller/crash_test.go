package controller_test

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// TestCrashSafety restarts the operator in the middle of a burst of 100 Tasks (its reconciles are
// cut off mid-flight and the Lease is not released, as in a crash). Afterwards every Task has
// exactly one Pod, with the name derived from its UID, and reached a final phase; no Pod is
// left without its Task; and maxConcurrentTasks held across the restart (the new operator rebuilt
// its ledger from live Pods before admitting anything).
func TestCrashSafety(t *testing.T) {
	const limit, perNS = 10, 20
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	teams := make([]string, 5)
	for i := range teams {
		teams[i] = env.Namespace(ctx, t)
	}
	ag := agent(agentNS, "agent", func(a *v1alpha1.Agent) {
		a.Spec.AllowedNamespaces = []string{"*"}
		a.Spec.MaxConcurrentTasks = ptr.To[int32](limit)
	})
	create(t, ag)
	watched := append([]string{agentNS}, teams...)
	crashy := func(o *setup.Options) { o.ReleaseLeaseOnCancel = false }
	first := startOperator(t, watched, crashy)
	k := startKubelet(t, agentNS, 15*time.Millisecond)

	tasks := burst(t, teams, perNS, agentNS, ag.Name)
	eventually(t, 60*time.Second, "a third of the Pods to exist", func(context.Context) (bool, error) {
		_, seen, err := k.stats()
		return seen >= len(tasks)/3, err
	})
	// Keep the running agents running across the restart: the new operator must count them.
	k.pause(true)
	eventually(t, 30*time.Second, "the operator to fill every slot", func(context.Context) (bool, error) {
		active, settled := k.activeNow()
		return settled && active == limit, nil
	})
	first.stop(t)
	// The crashed leader's Lease would expire after its duration; deleting it fast-forwards.
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: setup.DefaultLeaderElectionID}}
	if err := env.Client.Delete(ctx, lease); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	_, seenAtCrash, _ := k.stats()
	activeAtCrash, _ := k.activeNow()
	startOperator(t, watched)
	// A Task created after the restart must wait: the new operator counts the running agents
	// (an empty ledger would admit it, and the queued Tasks, at once).
	probe := task(teams[0], "after-restart", agentNS, ag.Name)
	create(t, probe)
	decided := waitTask(t, probe, "decided", func(got *v1alpha1.Task) bool { return got.Status.Phase != "" })
	if decided.Status.Phase != v1alpha1.TaskPhaseQueued {
		t.Errorf("a Task created after the restart is %s, want Queued: the new operator lost count of the running agents", decided.Status.Phase)
	}
	tasks = append(tasks, probe)
	k.pause(false)
	waitAllFinal(t, tasks, 60*time.Second)

	maxActive, seen, err := k.stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Pods seen at the crash: %d of %d, active: %d; most active at once: %d", seenAtCrash, len(tasks), activeAtCrash, maxActive)
	if activeAtCrash != limit {
		// Checked by the wait above; kept as a statement of what the test relies on.
		t.Errorf("%d Pods were active at the crash, want the limit %d (the restart must find running agents)", activeAtCrash, limit)
	}
	if seenAtCrash >= len(tasks) {
		t.Errorf("the crash came after every Pod existed: it proved nothing")
	}
	if maxActive > limit {
		t.Errorf("%d agent Pods were active at once across the restart, limit %d", maxActive, limit)
	}
	if seen != len(tasks) {
		t.Errorf("%d Pods were created for %d Tasks", seen, len(tasks))
	}
	uids := map[string]bool{}
	for _, tk := range tasks {
		got := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
			t.Fatal(err)
		}
		uids[string(got.UID)] = true
		if got.Status.Phase != v1alpha1.TaskPhaseCompleted {
			t.Errorf("Task %s/%s ended %s: %+v", got.Namespace, got.Name, got.Status.Phase, succeeded(got))
		}
		pods := podsOf(t, got)
		if len(pods) != 1 {
			t.Errorf("Task %s/%s has %d Pods", got.Namespace, got.Name, len(pods))
			continue
		}
		if want := podspec.DNSLabel(got.Name, string(got.UID)); pods[0].Name != want {
			t.Errorf("Task %s/%s has Pod %s, want %s", got.Namespace, got.Name, pods[0].Name, want)
		}
	}
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(agentNS)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if !uids[p.Labels[v1alpha1.TaskUIDLabel]] {
			t.Errorf("Pod %s has no Task (task-uid %q)", p.Name, p.Labels[v1alpha1.TaskUIDLabel])
		}
	}
	if len(pods.Items) != len(tasks) {
		t.Errorf("%d Pods in the Agent's namespace for %d Tasks", len(pods.Items), len(tasks))
	}
}
