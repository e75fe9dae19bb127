package taskpod_test

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// A dry run: the Pod a Task would get, without a cluster.
func ExampleBuild() {
	agent := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "opencode", UID: "5b0e2a8c"},
		Spec: v1alpha1.AgentSpec{ServiceAccountName: "opencode"}}
	task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "fix-login-bug", UID: "0f6c3a52"},
		Spec: v1alpha1.TaskSpec{Description: "Fix the login bug.", AgentRef: v1alpha1.AgentReference{Name: "opencode"},
			Contexts: []v1alpha1.ContextItem{{Name: "notes", Type: v1alpha1.ContextTypeText, Text: "Start with auth.go."}}}}
	in := taskpod.Input{Task: task, Agent: agent, ConfigMaps: &taskpod.ConfigMaps{}, Defaults: taskpod.Defaults{
		AgentImage: "example.com/agent-opencode:v1", ExecutorImage: "example.com/executor:v1", SystemImage: "example.com/kubeopencode:v1"}}
	res, err := taskpod.Build(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Pod:", res.Pod.Namespace+"/"+res.Pod.Name)
	fmt.Println("command:", res.Pod.Spec.Containers[0].Command)
	fmt.Println("deadline:", *res.Pod.Spec.ActiveDeadlineSeconds)
	fmt.Println("context ConfigMap keys:", len(res.ContextConfigMap.Data))

	// An Agent of another namespace that cannot run the Task: its author learns only that.
	agent.Spec.Config = "{not json"
	task.Namespace = "team-b"
	_, err = taskpod.Build(in)
	var te *taskpod.Error
	if errors.As(err, &te) {
		fmt.Println(te.Reason+":", err)
		fmt.Println("for the platform team:", te.Agent[0].Field)
	}
	// Output:
	// Pod: team-a/fix-login-bug-f2tts3i3kntp
	// command: [/tools/opencode run $(TASK_DESCRIPTION)]
	// deadline: 86400
	// context ConfigMap keys: 1
	// InvalidConfiguration: Agent team-a/opencode cannot run Tasks as configured; its Ready condition says why (ask the platform team that owns namespace "team-a")
	// for the platform team: spec.config
}

// What a Pod's status means for its Task, at a given time.
func ExampleReadPod() {
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "fix-login-bug-x", CreationTimestamp: metav1.NewTime(created)},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	o := taskpod.ReadPod(pod, created.Add(time.Minute), 10*time.Minute)
	fmt.Println("pending a minute:", o.Done, o.Recheck)

	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "agent",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Message: "PR opened: #12"}}}}}
	o = taskpod.ReadPod(pod, created.Add(time.Hour), 10*time.Minute)
	fmt.Println("succeeded:", o.Phase, o.Reason, *o.ExitCode, o.Result)
	// Output:
	// pending a minute: false 9m0s
	// succeeded: Completed AgentSucceeded 0 PR opened: #12
}

// The egress NetworkPolicy of an Agent that may reach only HTTPS.
func ExampleEgressNetworkPolicy() {
	agent := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "opencode", UID: "5b0e2a8c"},
		Spec: v1alpha1.AgentSpec{NetworkPolicy: &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{
			{CIDRs: []string{"0.0.0.0/0"}, Ports: []v1alpha1.EgressPort{{Port: 443}}}}}}}
	np, err := taskpod.EgressNetworkPolicy(agent)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(np.Name, np.Spec.PolicyTypes, np.Spec.PodSelector.MatchLabels["kubeopencode.io/agent-uid"])
	// Output:
	// opencode-egress [Egress] 5b0e2a8c
}
