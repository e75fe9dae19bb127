//go:build e2e

package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/e2e/framework"
	"github.com/kubeopencode/kubeopencode/hack/testbed"
)

const helmRelease = "kubeopencode"

// helmCmd runs the test bed's helm (`make testbin` builds it from the Go module proxy) against
// the test bed, with its own configuration directories, and returns its combined output.
func helmCmd(ctx context.Context, t *testing.T, cfg *envconf.Config, home string, args ...string) (string, error) {
	t.Helper()
	helm, err := testbed.Helm()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, helm, append(args, "--kubeconfig", cfg.KubeconfigFile())...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// TestHelmInstall is scenario 10: `helm install` of charts/kubeopencode runs the operator on the
// real node, and it runs scenario 1's Task to Completed.
//
// The suite installed operator/config before (TestMain), as a kustomize user would have: the
// chart adopts those objects (--take-ownership; the namespace exists, so namespace.create=false)
// — the documented move from `kubectl apply -k` to Helm. The image is set once through the chart's
// values (operator and --system-image: the test bed's example.local/kubeopencode:dev). As in
// scenario 7, the only change outside the chart is KUBERNETES_SERVICE_HOST/PORT (the test bed has
// no Service routing), made by a post-renderer.
//
// helm uninstall then removes what the chart owns but keeps the CRDs (helm.sh/resource-policy:
// keep); the suite re-applies operator/config and restarts the out-of-cluster operator.
func TestHelmInstall(t *testing.T) {
	logOperatorOnFailure(t)
	var (
		pod  *corev1.Pod
		home string
	)
	f := features.New("scenario 10: helm install runs the operator and a Task").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			rc := cfg.Client().RESTConfig()
			ca, err := framework.CAData(rc)
			if err != nil {
				t.Fatal(err)
			}
			fwd, err := framework.StartAPIForwarder(ctx, rc.Host, ca)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fwd.Close)
			home = t.TempDir()
			postRenderer := filepath.Join(home, "api-forwarder.sh")
			script := fmt.Sprintf(`#!/bin/sh
# Adds the test bed's API address to the operator container (scenario 7 explains why).
exec sed 's|^\( *\)- {name: GOMEMLIMIT, value: "\(.*\)"}$|&\n\1- {name: KUBERNETES_SERVICE_HOST, value: "%s"}\n\1- {name: KUBERNETES_SERVICE_PORT, value: "%s"}|'
`, fwd.Host(), fwd.Port())
			if err := os.WriteFile(postRenderer, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}

			if err := suite.operator.Stop(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx := context.Background()
				if err := applyOperatorConfig(ctx, c, suite.repoRoot); err != nil {
					t.Errorf("re-applying operator/config after helm uninstall: %v", err)
				}
				// The ServiceAccount was deleted with the release: the old token died with it.
				kc := filepath.Join(suite.dir, "operator.kubeconfig")
				if err := framework.ServiceAccountKubeconfig(ctx, rc, operatorNamespace, operatorServiceAccount, 2*time.Hour, kc); err != nil {
					t.Errorf("a token for the recreated ServiceAccount: %v", err)
				}
				if err := suite.operator.Start(); err != nil {
					t.Errorf("restarting the out-of-cluster operator: %v", err)
					return
				}
				if err := waitLeader(ctx, cfg, suite.hostname+"_", suite.operator); err != nil {
					t.Errorf("the out-of-cluster operator did not lead again: %v", err)
				}
			})
			start := time.Now()
			out, err := helmCmd(ctx, t, cfg, home, "install", helmRelease, filepath.Join(suite.repoRoot, "charts/kubeopencode"),
				"--namespace", operatorNamespace, "--take-ownership", "--wait", "--timeout", "5m", "--debug",
				"--set", "namespace.create=false",
				"--set", "image.repository="+strings.Split(systemImage, ":")[0],
				"--set", "image.tag="+strings.Split(systemImage, ":")[1],
				"--post-renderer", postRenderer)
			t.Cleanup(func() {
				ctx := context.Background()
				// Stop the chart's operator while its roles still exist: uninstalling first would
				// delete its RBAC under a running Pod, whose last requests (releasing its Lease)
				// the audit-log proof of RBAC sufficiency would then see denied.
				dep := &appsv1.Deployment{}
				if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "kubeopencode-operator"}, dep); err == nil {
					dep.Spec.Replicas = ptr.To[int32](0)
					if err := c.Update(ctx, dep); err != nil {
						t.Errorf("scaling the chart's operator to 0: %v", err)
					}
					waitFor(ctx, t, "the chart's operator Pods to go", 2*time.Minute, func(ctx context.Context) (bool, error) {
						pods := &corev1.PodList{}
						err := c.List(ctx, pods, client.InNamespace(operatorNamespace), client.MatchingLabels{"app.kubernetes.io/name": "kubeopencode-operator"})
						return err == nil && len(pods.Items) == 0, err
					})
				}
				if out, err := helmCmd(ctx, t, cfg, home, "uninstall", helmRelease, "--namespace", operatorNamespace, "--wait", "--timeout", "2m"); err != nil {
					t.Errorf("helm uninstall: %v\n%s", err, out)
				}
				pods := &corev1.PodList{}
				if err := c.List(ctx, pods, client.InNamespace(operatorNamespace), client.MatchingLabels{"app.kubernetes.io/name": "kubeopencode-operator"}); err != nil {
					t.Error(err)
				}
				for i := range pods.Items {
					waitGone(ctx, t, c, &pods.Items[i], time.Minute)
				}
			})
			if err != nil {
				t.Fatalf("helm install: %v\n%s\n%s", err, lastLines(out, 40), operatorPodsState(ctx, cfg))
			}
			t.Logf("helm install --wait took %s; what helm waited for:\n%s", time.Since(start).Round(100*time.Millisecond), waitLines(out))
			for _, p := range operatorPods(ctx, t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace},
				Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "kubeopencode-operator"}}}}) {
				for _, cond := range p.Status.Conditions {
					t.Logf("operator Pod %s: %s at +%s", p.Name, cond.Type, cond.LastTransitionTime.Sub(start).Round(time.Second))
				}
				for _, cs := range p.Status.ContainerStatuses {
					if cs.State.Running != nil {
						t.Logf("operator Pod %s: container %s started at +%s, restarts %d", p.Name, cs.Name, cs.State.Running.StartedAt.Sub(start).Round(time.Second), cs.RestartCount)
					}
				}
			}
			return ctx
		}).
		Assess("the chart's operator runs the image set once in values, on the real node, and leads", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			d := &appsv1.Deployment{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "kubeopencode-operator"}, d); err != nil {
				t.Fatal(err)
			}
			if d.Labels["app.kubernetes.io/managed-by"] != "Helm" || d.Annotations["meta.helm.sh/release-name"] != helmRelease {
				t.Errorf("the operator Deployment is not the Helm release's: labels %v annotations %v", d.Labels, d.Annotations)
			}
			pods := operatorPods(ctx, t, c, d)
			if len(pods) != 1 {
				t.Fatalf("%d operator Pods, want 1", len(pods))
			}
			pod = &pods[0]
			ctr := pod.Spec.Containers[0]
			if ctr.Image != systemImage || !slices.Contains(ctr.Args, "--system-image="+systemImage) || pod.Spec.NodeName == kwokNode {
				t.Errorf("operator Pod on %s runs %s with args %v; want %s for both on the real node", pod.Spec.NodeName, ctr.Image, ctr.Args, systemImage)
			}
			waitFor(ctx, t, "the chart's operator Pod to lead", time.Minute, func(ctx context.Context) (bool, error) {
				lease := &coordinationv1.Lease{}
				if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaderElectionLease}, lease); err != nil {
					return false, err
				}
				return lease.Spec.HolderIdentity != nil && strings.HasPrefix(*lease.Spec.HolderIdentity, pod.Name+"_"), nil
			})
			svc := &corev1.Service{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "kubeopencode-operator-metrics"}, svc); err != nil {
				t.Errorf("the chart's metrics Service: %v", err)
			}
			return ctx
		}).
		Assess("its metrics endpoint answers only authorized tokens", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			assertMetricsProtected(ctx, t, cfg, pod)
			return ctx
		}).
		Assess("the chart's operator runs scenario 1's Task to Completed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("chart operator log tail:\n%s", containerLogTail(context.Background(), cfg, pod.Namespace, pod.Name, "manager", 40))
				}
			})
			start := time.Now()
			s := setupSecureAgent(ctx, t, cfg)
			task := s.newTask(s.agent)
			createTask(ctx, t, cfg, adminClient(cfg), task)
			s.assertSecureRun(ctx, t, cfg, task, 0)
			t.Logf("Task %s completed %s after its Agent was created", task.Name, time.Since(start).Round(100*time.Millisecond))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// waitLines keeps the distinct lines of helm --debug about waiting for resources.
func waitLines(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if (strings.Contains(l, "wait") || strings.Contains(l, "ready")) && !slices.Contains(keep, l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// operatorPodsState describes the operator's Pods (phase, container states, log tail) and the
// namespace's Events, for a failed install.
func operatorPodsState(ctx context.Context, cfg *envconf.Config) string {
	c := adminClient(cfg)
	var b strings.Builder
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(operatorNamespace)); err != nil {
		return err.Error()
	}
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "Pod %s on %q: %s %+v\n", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, "  %s ready=%v restarts=%d state=%+v last=%+v\n", cs.Name, cs.Ready, cs.RestartCount, cs.State, cs.LastTerminationState)
		}
		fmt.Fprintf(&b, "  log:\n%s\n", containerLogTail(ctx, cfg, p.Namespace, p.Name, "manager", 30))
	}
	events := &corev1.EventList{}
	if err := c.List(ctx, events, client.InNamespace(operatorNamespace)); err == nil {
		for _, e := range events.Items {
			fmt.Fprintf(&b, "Event %s %s/%s: %s %s\n", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	return b.String()
}
