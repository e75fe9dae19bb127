//go:build e2e

package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestMissingSecret is scenario 5 on the real node (T6): an Agent whose credential names a Secret
// that does not exist makes its Task fail with a precise reason instead of holding a slot
// forever, and the operator deletes the Pod that cannot start.
//
//   - as an environment variable, the kubelet refuses to start the container
//     (CreateContainerConfigError: secret "..." not found) and the Task fails with those words;
//   - as a file, the kubelet cannot mount the Secret volume and retries forever (FailedMount, an
//     Event on the Pod); no container status says so, so the operator fails the Task once
//     --pod-start-timeout has passed with nothing started.
func TestMissingSecret(t *testing.T) {
	logOperatorOnFailure(t)
	const missing = "e2e-no-such-secret"
	var ns string
	var envTask, fileTask *v1alpha1.Task
	newAgent := func(name string, cred v1alpha1.Credential) *v1alpha1.Agent {
		return &v1alpha1.Agent{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.AgentSpec{
				AgentImage: agentImage, ExecutorImage: probeImage, WorkspaceDir: "/workspace",
				ServiceAccountName: "default", Command: probeCommand(0, nil, nil),
				Credentials: []v1alpha1.Credential{cred},
			},
		}
	}
	f := features.New("scenario 5: a missing Secret fails the Task with the kubelet's reason").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			ns = createNamespace(ctx, t, cfg, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
			envAgent := newAgent("env-credential", v1alpha1.Credential{Name: "api-key",
				SecretRef: v1alpha1.SecretReference{Name: missing, Key: "api-key"}, Env: apiKeyEnv})
			fileAgent := newAgent("file-credential", v1alpha1.Credential{Name: "ssh-key",
				SecretRef: v1alpha1.SecretReference{Name: missing, Key: "id_rsa"}, MountPath: sshKeyPath})
			createAgent(ctx, t, c, envAgent)
			createAgent(ctx, t, c, fileAgent)
			envTask, fileTask = newTask(ns, "env", "", envAgent.Name), newTask(ns, "file", "", fileAgent.Name)
			createTask(ctx, t, cfg, c, envTask)
			createTask(ctx, t, cfg, c, fileTask)
			return ctx
		}).
		Assess("env credential: PodStartFailed with the kubelet's CreateContainerConfigError, Pod deleted", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			got := waitTaskFinal(ctx, t, c, envTask)
			cond := succeeded(got)
			if got.Status.Phase != v1alpha1.TaskPhaseFailed || cond.Reason != v1alpha1.ReasonPodStartFailed {
				t.Errorf("Task ended %s with %s, want Failed with %s", got.Status.Phase, cond.Reason, v1alpha1.ReasonPodStartFailed)
			}
			for _, want := range []string{"CreateContainerConfigError", `secret "` + missing + `" not found`} {
				if !strings.Contains(cond.Message, want) {
					t.Errorf("condition message %q does not carry the kubelet's %q", cond.Message, want)
				}
			}
			waitGone(ctx, t, c, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: got.Status.PodName}}, time.Minute)
			return ctx
		}).
		Assess("file credential: PodStartFailed after --pod-start-timeout, the kubelet's FailedMount on the Pod, Pod deleted", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			got := waitTaskFinal(ctx, t, c, fileTask)
			cond := succeeded(got)
			if got.Status.Phase != v1alpha1.TaskPhaseFailed || cond.Reason != v1alpha1.ReasonPodStartFailed ||
				!strings.Contains(cond.Message, "did not start within "+podStartTimeout.String()) {
				t.Errorf("Task ended %s with %s (%q), want Failed with %s after %s", got.Status.Phase, cond.Reason, cond.Message,
					v1alpha1.ReasonPodStartFailed, podStartTimeout)
			}
			t.Logf("the Task's Succeeded condition: %s: %s", cond.Reason, cond.Message)
			if d := got.Status.CompletionTime.Sub(got.Status.StartTime.Time); d < podStartTimeout-time.Second {
				t.Errorf("the Task failed %s after its Pod was created, before --pod-start-timeout %s", d, podStartTimeout)
			}
			// The kubelet's own reason is on the Pod, where the platform team looks.
			events := &corev1.EventList{}
			if err := c.List(ctx, events, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			mounted := false
			for _, e := range events.Items {
				if e.InvolvedObject.Name == got.Status.PodName && e.Reason == "FailedMount" && strings.Contains(e.Message, `secret "`+missing+`" not found`) {
					mounted = true
				}
			}
			if !mounted {
				t.Errorf("no FailedMount Event naming secret %q on Pod %s", missing, got.Status.PodName)
			}
			waitGone(ctx, t, c, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: got.Status.PodName}}, time.Minute)
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
