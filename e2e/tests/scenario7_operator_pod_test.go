//go:build e2e

package tests

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/e2e/framework"
)

// operatorDeployment renders operator/config/manager with kustomize and returns its Deployment as
// written there.
func operatorDeployment(ctx context.Context, t *testing.T) *appsv1.Deployment {
	t.Helper()
	objs, err := framework.Kustomize(ctx, suite.kubectl, filepath.Join(suite.repoRoot, "operator/config/manager"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			d := &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatal("operator/config/manager renders no Deployment")
	return nil
}

// TestOperatorDeployment is scenario 7: the operator's own Deployment from operator/config, with
// its image built offline and imported into the real node, runs there in kubeopencode-system
// (Pod Security "restricted" enforced), becomes Ready with the hardened securityContext exactly
// as written in operator/config, leads, and runs scenario 1's Task.
//
// The test bed changes the Deployment in three ways only: the image (example.local/kubeopencode:dev),
// --system-image (the same image, for credential staging), and KUBERNETES_SERVICE_HOST/PORT. The
// test bed's API server listens on 127.0.0.1 and there is no Service routing, so instead of
// hostNetwork (which "restricted" forbids) the test forwards a host address named by the API
// server's certificate to it (framework.APIForwarder); TLS and authentication stay end to end,
// with the Pod's own ServiceAccount token and the cluster CA.
//
// The out-of-cluster operator is stopped first (it releases its Lease) and restarted afterwards.
func TestOperatorDeployment(t *testing.T) {
	logOperatorOnFailure(t)
	var (
		written *appsv1.Deployment // as in operator/config
		pod     *corev1.Pod
	)
	f := features.New("scenario 7: the operator's Deployment runs on the real node").
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

			written = operatorDeployment(ctx, t)
			d := written.DeepCopy()
			ctr := &d.Spec.Template.Spec.Containers[0]
			ctr.Image = systemImage
			ctr.Args = append(ctr.Args, "--system-image="+systemImage)
			ctr.Env = append(ctr.Env,
				corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: fwd.Host()},
				corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: fwd.Port()})

			if err := suite.operator.Stop(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx := context.Background()
				if err := suite.operator.Start(); err != nil {
					t.Errorf("restarting the out-of-cluster operator: %v", err)
					return
				}
				if err := waitLeader(ctx, cfg, suite.hostname+"_", suite.operator); err != nil {
					t.Errorf("the out-of-cluster operator did not lead again: %v", err)
				}
			})
			if err := c.Create(ctx, d); err != nil {
				t.Fatalf("creating the operator Deployment: %v", err)
			}
			t.Cleanup(func() {
				ctx := context.Background()
				pods := operatorPods(ctx, t, c, d)
				_ = ignoreNotFound(c.Delete(ctx, d))
				for i := range pods {
					waitGone(ctx, t, c, &pods[i], time.Minute)
				}
			})
			return ctx
		}).
		Assess("the operator Pod becomes Ready on the real node with the securityContext of operator/config, and leads", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			waitFor(ctx, t, "the operator Deployment to be available", 2*time.Minute, func(ctx context.Context) (bool, error) {
				d := &appsv1.Deployment{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(written), d); err != nil {
					return false, err
				}
				return d.Status.AvailableReplicas == 1 && d.Status.ReadyReplicas == 1, nil
			})
			pods := operatorPods(ctx, t, c, written)
			if len(pods) != 1 {
				t.Fatalf("%d operator Pods, want 1", len(pods))
			}
			pod = &pods[0]
			ns := &corev1.Namespace{}
			if err := c.Get(ctx, client.ObjectKey{Name: pod.Namespace}, ns); err != nil {
				t.Fatal(err)
			}
			want, got := written.Spec.Template.Spec, pod.Spec
			type hardening struct {
				Enforce            string
				RealNode           bool
				HostNetwork        bool
				ServiceAccountName string
				Pod                *corev1.PodSecurityContext
				Container          *corev1.SecurityContext
				Image              string
			}
			if d := cmp.Diff(hardening{
				Enforce: "restricted", RealNode: true, ServiceAccountName: operatorServiceAccount,
				Pod: want.SecurityContext, Container: want.Containers[0].SecurityContext, Image: systemImage,
			}, hardening{
				Enforce: ns.Labels["pod-security.kubernetes.io/enforce"], RealNode: got.NodeName != "" && got.NodeName != kwokNode,
				HostNetwork: got.HostNetwork, ServiceAccountName: got.ServiceAccountName,
				Pod: got.SecurityContext, Container: got.Containers[0].SecurityContext, Image: got.Containers[0].Image,
			}); d != "" {
				t.Errorf("the running operator Pod (-want: operator/config +got):\n%s", d)
			}
			sc := got.Containers[0].SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil ||
				*sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("operator/config's container securityContext is not hardened: %+v", sc)
			}
			if ps := got.SecurityContext; ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.SeccompProfile == nil ||
				ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("operator/config's Pod securityContext is not hardened: %+v", ps)
			}
			waitFor(ctx, t, "the operator Pod to lead", time.Minute, func(ctx context.Context) (bool, error) {
				lease := &coordinationv1.Lease{}
				if err := c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaderElectionLease}, lease); err != nil {
					return false, err
				}
				return lease.Spec.HolderIdentity != nil && strings.HasPrefix(*lease.Spec.HolderIdentity, pod.Name+"_"), nil
			})
			return ctx
		}).
		Assess("its metrics endpoint answers only a token the API server authenticates and authorizes for get /metrics", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			assertMetricsProtected(ctx, t, cfg, pod)
			return ctx
		}).
		Assess("the in-cluster operator runs scenario 1's Task to Completed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("in-cluster operator log tail:\n%s", containerLogTail(context.Background(), cfg, pod.Namespace, pod.Name, "manager", 40))
				}
			})
			s := setupSecureAgent(ctx, t, cfg)
			task := s.newTask(s.agent)
			createTask(ctx, t, cfg, adminClient(cfg), task)
			s.assertSecureRun(ctx, t, cfg, task, 0)
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// operatorPods lists the Pods of the operator Deployment.
func operatorPods(ctx context.Context, t *testing.T, c client.Client, d *appsv1.Deployment) []corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// assertMetricsProtected scrapes the operator Pod's metrics endpoint (HTTPS on the metrics port,
// reached on the Pod's IP over the real node's bridge) with no token, with the token of a
// ServiceAccount that may not get /metrics, and with one that may. The operator asks the API
// server (TokenReview, SubjectAccessReview) under its generated RBAC.
func assertMetricsProtected(ctx context.Context, t *testing.T, cfg *envconf.Config, pod *corev1.Pod) {
	t.Helper()
	c := adminClient(cfg)
	ns := createNamespace(ctx, t, cfg, nil)
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-metrics-reader-" + ns},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "reader"}},
	}
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stranger"}},
		role, binding,
	} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ignoreNotFound(c.Delete(context.Background(), o)) })
	}
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	port := ""
	for _, p := range pod.Spec.Containers[0].Ports {
		if p.Name == "https" {
			port = strconv.Itoa(int(p.ContainerPort))
		}
	}
	url := "https://" + net.JoinHostPort(pod.Status.PodIP, port) + "/metrics"
	// The endpoint's certificate is self-signed (operator/config sets no --metrics-cert-dir):
	// what is proven here is who may read, not the server's identity.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	scrape := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("scraping %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	reader, stranger := token("reader"), token("stranger")
	// RBAC bindings take effect a moment after they are written.
	var code int
	var body string
	waitFor(ctx, t, "the metrics reader's binding to take effect", time.Minute, func(context.Context) (bool, error) {
		code, body = scrape(reader)
		return code == http.StatusOK, nil
	})
	if !strings.Contains(body, "controller_runtime_reconcile_total") {
		t.Errorf("the authorized scrape returned no controller metrics:\n%.500s", body)
	}
	got := map[string]int{}
	got["no token"], _ = scrape("")
	got["a ServiceAccount without get /metrics"], _ = scrape(stranger)
	if d := cmp.Diff(map[string]int{"no token": 401, "a ServiceAccount without get /metrics": 403}, got); d != "" {
		t.Errorf("metrics endpoint status codes (-want +got):\n%s", d)
	}
	// A token whose signature does not verify: the API server's TokenReview answers with an
	// error, which controller-runtime's filter turns into 500 "Authentication failed" rather
	// than 401; either way nothing is served.
	if code, body := scrape(reader[:len(reader)-4] + "AAAA"); code == http.StatusOK || strings.Contains(body, "controller_runtime") {
		t.Errorf("a forged token was served metrics: %d %.200s", code, body)
	}
}

// containerLogTail returns the last lines of a container's log, or the error reading it.
func containerLogTail(ctx context.Context, cfg *envconf.Config, ns, pod, container string, lines int64) string {
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		return err.Error()
	}
	b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &lines}).DoRaw(ctx)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
