package rbacproof

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestLogReaderServiceAccount (T23): the log server's ServiceAccount, bound to exactly
// kocrbac.LogReaderObjects with one Agent namespace, may list Pods and get pods/log there and
// nothing else on Pods anywhere: no get, watch, exec, attach, port-forward or write, no Pod
// or log in a tenant namespace, no Secret. The API server's rules review agrees.
func TestLogReaderServiceAccount(t *testing.T) {
	ctx := context.Background()
	serverNS, agentsNS, teamNS := env.Namespace(ctx, t), env.Namespace(ctx, t), env.Namespace(ctx, t)
	objs, err := kocrbac.LogReaderObjects(kocrbac.LogReaderOptions{Namespace: serverNS, AgentNamespaces: []string{agentsNS}})
	if err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, objs)
	cs := kubernetes.NewForConfigOrDie(serviceAccountConfig(ctx, t, serverNS, kocrbac.DefaultLogReaderServiceAccount))

	for _, ns := range []string{agentsNS, teamNS} {
		pod := agentPod(ns, "agent")
		if err := env.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	need(t, "list pods in the Agent namespace", func() error {
		_, err := cs.CoreV1().Pods(agentsNS).List(ctx, metav1.ListOptions{})
		return err
	}())
	// get pods/log is allowed: with no node, the API server answers with an empty log.
	need(t, "get pods/log in the Agent namespace", cs.CoreV1().Pods(agentsNS).GetLogs("agent", &corev1.PodLogOptions{}).Do(ctx).Error())
	for name, err := range map[string]error{
		"get pods/log in a tenant namespace": cs.CoreV1().Pods(teamNS).GetLogs("agent", &corev1.PodLogOptions{}).Do(ctx).Error(),
		"list pods in a tenant namespace": func() error {
			_, err := cs.CoreV1().Pods(teamNS).List(ctx, metav1.ListOptions{})
			return err
		}(),
		"get a pod":            func() error { _, err := cs.CoreV1().Pods(agentsNS).Get(ctx, "agent", metav1.GetOptions{}); return err }(),
		"delete a pod":         cs.CoreV1().Pods(agentsNS).Delete(ctx, "agent", metav1.DeleteOptions{}),
		"list secrets":         func() error { _, err := cs.CoreV1().Secrets(agentsNS).List(ctx, metav1.ListOptions{}); return err }(),
		"ephemeral containers": updateEphemeral(ctx, cs, agentPod(agentsNS, "agent")),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("log reader %s: got %v, want 403 Forbidden", name, err)
		}
	}
	for _, atom := range []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"pods/attach"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"pods/portforward"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"watch"}},
		{APIGroups: []string{kocrbac.APIGroup}, Resources: []string{"tasks"}, Verbs: []string{"list"}},
		{APIGroups: []string{kocrbac.APIGroup}, Resources: []string{"tasks/status"}, Verbs: []string{"update"}},
	} {
		expectAccess(ctx, t, cs, agentsNS, atom, false)
	}
	cluster, err := rbac.PolicyRules(kocrbac.LogReaderRules(), rbac.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := rbac.PolicyRules(kocrbac.LogReaderPodsRules(), rbac.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expectRules(ctx, t, cs, agentsNS, append(append([]rbacv1.PolicyRule{}, cluster...), pods...))
	expectRules(ctx, t, cs, teamNS, cluster)
}
