package controller_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestT15StatusIsNotTrusted: a writer of tasks/status points a Task's status at other Pods
// (another Task's, a bystander's, in another namespace); stopping and deleting that Task touch
// only its own Pod, found by its UID label in the namespace computed from its spec.
func TestT15StatusIsNotTrusted(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	team := env.Namespace(ctx, t)
	elsewhere := env.Namespace(ctx, t)
	ag := agent(agentNS, "agent", func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = []string{team} })
	create(t, ag)
	bystanders := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: agentNS, Name: "bystander"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: elsewhere, Name: "bystander"}},
	}
	for _, p := range bystanders {
		p.Spec.Containers = []corev1.Container{{Name: "c", Image: "example.com/bystander:1"}}
		create(t, p)
	}
	startOperator(t, []string{agentNS, team, elsewhere})

	victim := task(team, "victim", agentNS, ag.Name)
	create(t, victim)
	victimPod := waitPod(t, waitPhase(t, victim, v1alpha1.TaskPhaseRunning))

	targets := []struct{ name, podNS, podName string }{
		{"another Task's Pod", victimPod.Namespace, victimPod.Name},
		{"a bystander in the Agent's namespace", agentNS, "bystander"},
		{"a bystander in another namespace", elsewhere, "bystander"},
	}
	for i, target := range targets {
		for _, action := range []string{"stop", "delete"} {
			t.Run(action+" with status naming "+target.name, func(t *testing.T) {
				tk := task(team, action+"-"+string(rune('a'+i)), agentNS, ag.Name)
				create(t, tk)
				got := waitPhase(t, tk, v1alpha1.TaskPhaseRunning)
				own := waitPod(t, got)
				// The forgery, as someone allowed to write tasks/status.
				got.Status.PodName, got.Status.PodNamespace = target.podName, target.podNS
				got.Status.AgentRef = &v1alpha1.AgentReference{Namespace: target.podNS, Name: ag.Name}
				if err := env.Client.Status().Update(ctx, got); err != nil {
					t.Fatal(err)
				}
				if action == "stop" {
					stopTask(t, tk)
					waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
				} else {
					if err := env.Client.Delete(ctx, got); err != nil {
						t.Fatal(err)
					}
					waitGone(t, got)
				}
				waitGone(t, own)
				for _, p := range append([]*corev1.Pod{victimPod}, bystanders...) {
					cur := &corev1.Pod{}
					if err := env.Client.Get(ctx, client.ObjectKeyFromObject(p), cur); err != nil || cur.UID != p.UID || cur.DeletionTimestamp != nil {
						t.Errorf("Pod %s/%s was touched (err %v)", p.Namespace, p.Name, err)
					}
				}
			})
		}
	}
	if got := waitPhase(t, victim, v1alpha1.TaskPhaseRunning); got.Status.Phase != v1alpha1.TaskPhaseRunning {
		t.Errorf("the victim Task is %s", got.Status.Phase)
	}
}
