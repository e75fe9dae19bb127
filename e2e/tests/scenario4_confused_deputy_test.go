//go:build e2e

package tests

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// TestConfusedDeputy is scenario 4 (T3): the operator acts with its own privileges in the
// Agent's namespace, so a Task must not be able to point it at objects there. A Task from
// another namespace names a ConfigMap and a Secret that exist only in the Agent's namespace (the
// Agent's Pod runs there, where a plain volume reference would resolve to them) and gets nothing
// of them; a ConfigMap of the same name in both namespaces resolves to the Task's own.
func TestConfusedDeputy(t *testing.T) {
	logOperatorOnFailure(t)
	const (
		agentOnlyPath = "/workspace/context/agent-only"
		sharedPath    = "/workspace/context/shared"
	)
	var (
		agentNS, taskNS              string
		agentOnly, agentShared, mine string // ConfigMap contents
		agent                        *v1alpha1.Agent
	)
	configMapContext := func(name, mountPath string, optional bool) v1alpha1.ContextItem {
		return v1alpha1.ContextItem{Name: name, Type: v1alpha1.ContextTypeConfigMap, MountPath: v1alpha1.ContextPath(mountPath),
			ConfigMap: &v1alpha1.ConfigMapContext{Name: name, Optional: ptr.To(optional)}}
	}
	f := features.New("scenario 4: confused deputy — Task references resolve in the Task's namespace only").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			agentNS = createNamespace(ctx, t, cfg, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
			taskNS = createNamespace(ctx, t, cfg, nil)
			// Different lengths, so the probe's file size tells which one the agent got.
			agentOnly, agentShared, mine = "AGENT-ONLY-"+rand.String(40), "AGENT-NS-"+rand.String(60), "task-ns-"+rand.String(8)
			for _, o := range []client.Object{
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: agentNS, Name: "agent-only"}, Data: map[string]string{"secret.txt": agentOnly}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: agentNS, Name: "shared-name"}, Data: map[string]string{"notes.md": agentShared}},
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: agentNS, Name: "platform-git"}, StringData: map[string]string{"username": "platform", "password": agentOnly}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: taskNS, Name: "shared-name"}, Data: map[string]string{"notes.md": mine}},
			} {
				if err := framework.Apply(ctx, c, o); err != nil {
					t.Fatal(err)
				}
			}
			agent = &v1alpha1.Agent{
				ObjectMeta: metav1.ObjectMeta{Namespace: agentNS, Name: "deputy"},
				Spec: v1alpha1.AgentSpec{
					AgentImage: agentImage, ExecutorImage: probeImage, WorkspaceDir: "/workspace",
					ServiceAccountName: "default", AllowedNamespaces: []string{taskNS},
					Command: probeCommand(0, []string{agentOnlyPath + "/secret.txt", sharedPath + "/notes.md"}, nil),
				},
			}
			createAgent(ctx, t, c, agent)
			return ctx
		}).
		Assess("a ConfigMap that exists only in the Agent's namespace: the Task fails, nothing is created", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			task := newTask(taskNS, "required", agentNS, agent.Name)
			task.Spec.Contexts = []v1alpha1.ContextItem{configMapContext("agent-only", agentOnlyPath, false)}
			createTask(ctx, t, cfg, c, task)
			got := waitTaskFinal(ctx, t, c, task)
			cond := succeeded(got)
			if got.Status.Phase != v1alpha1.TaskPhaseFailed || cond.Reason != v1alpha1.ReasonInvalidConfiguration ||
				!strings.Contains(cond.Message, "ConfigMap "+taskNS+"/agent-only does not exist") {
				t.Errorf("Task ended %s with %s (%q); want Failed, InvalidConfiguration, naming the Task namespace's ConfigMap", got.Status.Phase, cond.Reason, cond.Message)
			}
			if n := len(taskPods(ctx, t, c, agentNS, got)); n != 0 {
				t.Errorf("%d Pods were created for the refused Task", n)
			}
			cms := &corev1.ConfigMapList{}
			if err := c.List(ctx, cms, client.InNamespace(agentNS), client.MatchingLabels{v1alpha1.TaskUIDLabel: string(got.UID)}); err != nil {
				t.Fatal(err)
			}
			if len(cms.Items) != 0 {
				t.Errorf("%d ConfigMaps were created for the refused Task", len(cms.Items))
			}
			return ctx
		}).
		Assess("optional and same-name ConfigMaps: the agent gets the Task namespace's content and none of the Agent namespace's", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			task := newTask(taskNS, "optional", agentNS, agent.Name)
			task.Spec.Contexts = []v1alpha1.ContextItem{
				configMapContext("agent-only", agentOnlyPath, true),
				configMapContext("shared-name", sharedPath, false),
			}
			createTask(ctx, t, cfg, c, task)
			got := waitTaskFinal(ctx, t, c, task)
			if got.Status.Phase != v1alpha1.TaskPhaseCompleted {
				t.Fatalf("Task ended %s: %+v", got.Status.Phase, succeeded(got))
			}
			pod := taskPod(ctx, t, c, agentNS, got)
			// The Pod, which runs in the Agent's namespace, mounts no ConfigMap the Task named:
			// only the operator's own copy, which carries the Task's UID.
			var mounted []string
			for _, v := range pod.Spec.Volumes {
				switch {
				case v.ConfigMap != nil:
					mounted = append(mounted, v.ConfigMap.Name)
				case v.Projected != nil:
					for _, s := range v.Projected.Sources {
						if s.ConfigMap != nil {
							mounted = append(mounted, s.ConfigMap.Name)
						}
					}
				}
			}
			copyCM := &corev1.ConfigMap{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: agentNS, Name: pod.Name}, copyCM); err != nil {
				t.Fatalf("the operator's context ConfigMap: %v", err)
			}
			for _, name := range mounted {
				if name != copyCM.Name {
					t.Errorf("the agent Pod mounts ConfigMap %q of namespace %s", name, agentNS)
				}
			}
			if copyCM.Labels[v1alpha1.TaskUIDLabel] != string(got.UID) {
				t.Errorf("the context ConfigMap %s is not labelled with the Task's UID: %v", copyCM.Name, copyCM.Labels)
			}
			b, _ := json.Marshal(copyCM.Data)
			if !strings.Contains(string(b), mine) || strings.Contains(string(b), agentOnly) || strings.Contains(string(b), agentShared) {
				t.Errorf("the operator's copy holds %s; want the Task namespace's content only", b)
			}
			rep := readReport(ctx, t, cfg, pod.Namespace, pod.Name, podspec.AgentContainerName)
			type seen struct {
				AgentOnly  bool
				SharedSize int64
			}
			if d := cmp.Diff(seen{AgentOnly: false, SharedSize: int64(len(mine))},
				seen{AgentOnly: rep.Files[agentOnlyPath+"/secret.txt"].Exists, SharedSize: rep.Files[sharedPath+"/notes.md"].Size}); d != "" {
				t.Errorf("what the agent saw (-want +got):\n%s", d)
			}
			// Deleting the Task deletes the operator's copy with the Pod.
			deleteTaskAndWait(ctx, t, cfg, task)
			waitGone(ctx, t, c, copyCM, time.Minute)
			return ctx
		}).
		Assess("a Task from another namespace cannot name a Secret at all: the API server refuses it", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			task := newTask(taskNS, "git-secret", agentNS, agent.Name)
			task.Spec.Contexts = []v1alpha1.ContextItem{{Name: "repo", Type: v1alpha1.ContextTypeGit,
				Git: &v1alpha1.GitContext{Repository: "https://git.example.com/platform/private.git", SecretRef: &v1alpha1.LocalSecretReference{Name: "platform-git"}}}}
			err := adminClient(cfg).Create(ctx, task)
			if err == nil {
				t.Cleanup(func() { deleteTaskAndWait(context.Background(), t, cfg, task) })
				t.Fatal("a cross-namespace Task naming a Secret was admitted")
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "git.secretRef is allowed only when the Task runs in its own namespace") {
				t.Errorf("refusal %v; want Invalid from the CRD rule on git.secretRef", err)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
