//go:build e2e

package tests

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
	"github.com/kubeopencode/kubeopencode/podspec"
)

const (
	modelKeyEnv = "MODEL_API_KEY"
	// agentsNodeLabel is the example's podSpec.scheduling.nodeSelector; the test puts it on the
	// real node for the duration of the test.
	agentsNodeLabel = "node-role.example.com/agents"
	// admissionPolicy names the ValidatingAdmissionPolicy of operator/config/policy.
	admissionPolicy = "kubeopencode-task-agent-use"
)

// realNode is the name of the test bed's real kubelet node (the one node that is not kwok's).
func realNode(ctx context.Context, t *testing.T, c client.Client) string {
	t.Helper()
	nodes := &corev1.NodeList{}
	if err := c.List(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if n.Name != kwokNode {
			return n.Name
		}
	}
	t.Fatal("the test bed has no real node")
	return ""
}

// labelNode sets a label on node for the duration of the test.
func labelNode(ctx context.Context, t *testing.T, c client.Client, node, key, value string) {
	t.Helper()
	set := func(ctx context.Context, v *string) error {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]*string{key: v}}})
		return c.Patch(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, client.RawPatch(types.MergePatchType, patch))
	}
	if err := set(ctx, &value); err != nil {
		t.Fatalf("labelling node %s: %v", node, err)
	}
	t.Cleanup(func() { _ = set(context.Background(), nil) })
}

// TestProductionAgent is scenario 2: the example production-agent in platform-agents with
// allowedNamespaces ["prod-*", "staging"] serves Tasks from prod-web and staging, whose Pods run
// in platform-agents with the credential, which never reaches the Task namespaces (T1, T3); a
// Task from dev-1 is refused with a reason and an Event that do not reveal the patterns (T1); a
// user who may create Tasks but may not "use" the Agent cannot create one (T2).
func TestProductionAgent(t *testing.T) {
	logOperatorOnFailure(t)
	var (
		agent    *v1alpha1.Agent
		modelKey string
		prodWeb  *v1alpha1.Task
		staging  *v1alpha1.Task
	)
	f := features.New("scenario 2: seed example production-agent shared across namespaces").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			applyExample(ctx, t, c, "common/namespaces.yaml")
			applyExample(ctx, t, c, "common/agent-rbac.yaml")
			applyExample(ctx, t, c, "tenancy/personas.yaml")
			labelNode(ctx, t, c, realNode(ctx, t, c), agentsNodeLabel, "true")
			modelKey = "e2e-model-key-" + rand.String(16)
			var tasks []*v1alpha1.Task
			for _, o := range exampleObjects(t, "production-agent/production-agent.yaml") {
				switch o := o.(type) {
				case *v1alpha1.Agent:
					agent = o
				case *corev1.Secret:
					o.StringData = map[string]string{"api-key": modelKey}
					if err := framework.Apply(ctx, c, o); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = ignoreNotFound(c.Delete(context.Background(), o)) })
				case *v1alpha1.Task:
					tasks = append(tasks, o)
				}
			}
			if agent == nil || len(tasks) != 2 || tasks[0].Namespace != "prod-web" || tasks[1].Namespace != "staging" {
				t.Fatalf("examples/production-agent changed shape: agent %v, %d Tasks", agent != nil, len(tasks))
			}
			agent.Spec.AgentImage, agent.Spec.ExecutorImage = agentImage, probeImage
			agent.Spec.Command = probeCommand(0, nil, []string{modelKeyEnv})
			createAgent(ctx, t, c, agent)
			// The prod-web Task is created by a web developer, as examples/tenancy grants; the
			// staging one by the platform admin.
			prodWeb, staging = tasks[0], tasks[1]
			createTask(ctx, t, cfg, asUser(t, cfg, "dana", "web-developers"), prodWeb)
			createTask(ctx, t, cfg, c, staging)
			return ctx
		}).
		Assess("Tasks from prod-web and staging run in platform-agents, and the credential stays there", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			for _, task := range []*v1alpha1.Task{prodWeb, staging} {
				got := waitTaskFinal(ctx, t, c, task)
				if got.Status.Phase != v1alpha1.TaskPhaseCompleted {
					t.Errorf("Task %s/%s ended %s: %+v", task.Namespace, task.Name, got.Status.Phase, succeeded(got))
					continue
				}
				pod := taskPod(ctx, t, c, platformNS, got)
				if pod.Spec.NodeName == kwokNode || pod.Labels[v1alpha1.TaskNamespaceLabel] != task.Namespace {
					t.Errorf("Pod %s ran on %q with task-namespace label %q", pod.Name, pod.Spec.NodeName, pod.Labels[v1alpha1.TaskNamespaceLabel])
				}
				if rep := readReport(ctx, t, cfg, pod.Namespace, pod.Name, podspec.AgentContainerName); !rep.Env[modelKeyEnv] {
					t.Errorf("the agent of Task %s/%s did not get %s", task.Namespace, task.Name, modelKeyEnv)
				}
				if got.Status.PodNamespace != platformNS || got.Status.AgentRef == nil || got.Status.AgentRef.Namespace != platformNS {
					t.Errorf("Task %s/%s status points to Pod namespace %q, Agent %+v", task.Namespace, task.Name, got.Status.PodNamespace, got.Status.AgentRef)
				}
				if n := len(taskPods(ctx, t, c, task.Namespace, got)); n != 0 {
					t.Errorf("%d Pods of the Task run in its own namespace %s", n, task.Namespace)
				}
			}
			// Nothing readable in the Task namespaces holds the credential: no Secret, ConfigMap,
			// Pod, Task or Event there carries its value.
			for _, ns := range []string{prodWeb.Namespace, staging.Namespace} {
				for _, list := range []client.ObjectList{&corev1.SecretList{}, &corev1.ConfigMapList{}, &corev1.PodList{}, &v1alpha1.TaskList{}, &corev1.EventList{}} {
					if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
						t.Fatal(err)
					}
					b, _ := json.Marshal(list)
					if strings.Contains(string(b), modelKey) {
						t.Errorf("a %T in Task namespace %s holds the credential", list, ns)
					}
				}
			}
			return ctx
		}).
		Assess("a Task from dev-1 is refused with a reason and an Event that do not reveal the patterns", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			createNamedNamespace(ctx, t, cfg, "dev-1", nil)
			task := newTask("dev-1", "try-production", platformNS, agent.Name)
			createTask(ctx, t, cfg, c, task)
			got := waitTaskFinal(ctx, t, c, task)
			cond := succeeded(got)
			if d := cmp.Diff([]string{string(v1alpha1.TaskPhaseFailed), string(metav1.ConditionFalse), v1alpha1.ReasonNamespaceNotAllowed},
				[]string{string(got.Status.Phase), string(cond.Status), cond.Reason}); d != "" {
				t.Errorf("dev-1 Task phase, Succeeded status, reason (-want +got):\n%s", d)
			}
			var event string
			waitFor(ctx, t, "the NamespaceNotAllowed Event in dev-1", taskTimeout, func(ctx context.Context) (bool, error) {
				for _, e := range taskEvents(ctx, t, c, got) {
					if e.Reason == v1alpha1.ReasonNamespaceNotAllowed && e.Type == corev1.EventTypeWarning {
						event = e.Note
						return true, nil
					}
				}
				return false, nil
			})
			for _, leak := range agent.Spec.AllowedNamespaces {
				if strings.Contains(cond.Message, leak) || strings.Contains(event, leak) {
					t.Errorf("the refusal reveals allowedNamespaces pattern %q: condition %q, event %q", leak, cond.Message, event)
				}
			}
			if n := len(taskPods(ctx, t, c, platformNS, got)); n != 0 {
				t.Errorf("the refused Task has %d Pods in %s", n, platformNS)
			}
			return ctx
		}).
		Assess("a user who may create Tasks but not use the Agent is refused by the admission policy", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			rb := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "e2e-mallory-task-author", Namespace: "prod-web"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeopencode-task-author"},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "mallory"}},
			}
			if err := framework.Apply(ctx, c, rb); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ignoreNotFound(c.Delete(context.Background(), rb)) })
			mallory := asUser(t, cfg, "mallory")
			task := newTask("prod-web", "mallory-task", platformNS, agent.Name)
			// RBAC bindings and admission policies take effect a moment after they are written:
			// wait until a dry run is refused by the policy (not by RBAC, which would mean the
			// binding is not in effect yet).
			waitFor(ctx, t, "the admission policy to judge mallory", taskTimeout, func(ctx context.Context) (bool, error) {
				err := mallory.Create(ctx, task.DeepCopy(), client.DryRunAll)
				return err != nil && strings.Contains(err.Error(), admissionPolicy), nil
			})
			err := mallory.Create(ctx, task)
			if err == nil {
				t.Cleanup(func() { deleteTaskAndWait(context.Background(), t, cfg, task) })
				t.Fatal("mallory created a Task on an Agent she may not use")
			}
			for _, want := range []string{"ValidatingAdmissionPolicy '" + admissionPolicy + "'", `may not use Agent "platform-agents/production-agent"`} {
				if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
					t.Errorf("mallory's refusal %q: want 403 Forbidden containing %q", err, want)
				}
			}
			if err := c.Get(ctx, client.ObjectKeyFromObject(task), &v1alpha1.Task{}); !apierrors.IsNotFound(err) {
				t.Errorf("mallory's Task exists after the refusal: %v", err)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
