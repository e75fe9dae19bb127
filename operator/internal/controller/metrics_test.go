package controller_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestMetricsEndpointAuthenticates: the metrics endpoint, run under the operator's generated
// RBAC, refuses a request without a token (401) and a ServiceAccount not allowed to get
// /metrics (403), and serves one that is (TokenReview and SubjectAccessReview by the operator).
func TestMetricsEndpointAuthenticates(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	startOperator(t, []string{ns}, func(o *setup.Options) { o.MetricsAddr = addr })

	admin := kubernetes.NewForConfigOrDie(env.Config)
	token := func(name string) string {
		t.Helper()
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	scraper, other := token("scraper"), token("other")
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "scraper"}}}
	create(t, role, binding)
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, binding)
		_ = env.Client.Delete(ctx, role)
	})

	// The endpoint's certificate is self-signed: the test checks access control, not TLS.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	status := func(token string) (int, error) {
		req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			return 0, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, tc := range []struct {
		who   string
		token string
		want  int
	}{{"no token", "", http.StatusUnauthorized},
		// controller-runtime answers 500 when the TokenReview says "not authenticated" with an
		// error; what matters is that the request is refused.
		{"a forged token", "forged", -1},
		{"an SA without the grant", other, http.StatusForbidden}, {"the scraper", scraper, http.StatusOK}} {
		eventually(t, 20*time.Second, fmt.Sprintf("metrics for %s to answer %d", tc.who, tc.want), func(context.Context) (bool, error) {
			got, err := status(tc.token)
			if err != nil {
				return false, err
			}
			if tc.want == -1 && got >= 400 {
				return true, nil
			}
			if got != tc.want {
				return false, fmt.Errorf("status %d", got)
			}
			return true, nil
		})
	}
}

// scrapeMetrics reads the operator's metrics endpoint with a token authorized by the generated
// kubeopencode-metrics-reader ClusterRole, and returns the sample values by "name{labels}". An
// error (the server not listening yet, a status other than 200) is returned for eventually to retry
// and report.
func scrapeMetrics(ctx context.Context, addr, token string) (map[string]float64, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, nil
}

// TestTaskMetrics scrapes the Task series (docs/operations.md) while a Task runs and another
// waits, then after both completed.
func TestTaskMetrics(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	admin := kubernetes.NewForConfigOrDie(env.Config)
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	reader := kocrbac.MetricsReaderClusterRole()
	if err := env.Client.Create(ctx, reader); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns + "-prometheus"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "prometheus"}}}
	create(t, binding)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, binding) })
	tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "prometheus", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	create(t, agent(ns, "agent", func(a *v1alpha1.Agent) { a.Spec.MaxConcurrentTasks = ptr.To[int32](1) }))
	startOperator(t, []string{ns}, func(o *setup.Options) { o.MetricsAddr = addr })

	first, second := task(ns, "first", ns, "agent"), task(ns, "second", ns, "agent")
	create(t, first)
	pod := waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
	create(t, second)
	waitPhase(t, second, v1alpha1.TaskPhaseQueued)
	queuedKey := `kubeopencode_tasks_queued{agent="agent",agent_namespace="` + ns + `"}`
	var m map[string]float64
	eventually(t, 20*time.Second, "the gauges to show one Task running and one queued", func(ctx context.Context) (bool, error) {
		var err error
		if m, err = scrapeMetrics(ctx, addr, tr.Status.Token); err != nil {
			return false, err
		}
		return m[`kubeopencode_tasks{phase="Running"}`] == 1 && m[`kubeopencode_tasks{phase="Queued"}`] == 1 && m[queuedKey] == 1, nil
	})
	setPodStatus(t, pod, phase(corev1.PodSucceeded))
	waitPhase(t, first, v1alpha1.TaskPhaseCompleted)
	setPodStatus(t, waitPod(t, waitPhase(t, second, v1alpha1.TaskPhaseRunning)), phase(corev1.PodSucceeded))
	waitPhase(t, second, v1alpha1.TaskPhaseCompleted)
	want := map[string]float64{
		`kubeopencode_tasks{phase="Completed"}`:                      2,
		`kubeopencode_tasks{phase="Running"}`:                        0,
		`kubeopencode_tasks{phase="Queued"}`:                         0,
		`kubeopencode_tasks_finished_total{reason="AgentSucceeded"}`: 2,
		"kubeopencode_task_queue_wait_seconds_count":                 2,
		"kubeopencode_task_run_duration_seconds_count":               2,
		`kubeopencode_task_run_duration_seconds_bucket{le="+Inf"}`:   2,
	}
	// The gauges read the cache, which may show the final status a moment before the reconciler
	// that wrote it counts the end: wait for the whole set; a timeout reports the last difference.
	eventually(t, 20*time.Second, "the Task series to count both Tasks", func(ctx context.Context) (bool, error) {
		var err error
		if m, err = scrapeMetrics(ctx, addr, tr.Status.Token); err != nil {
			return false, err
		}
		got := map[string]float64{}
		for k := range want {
			got[k] = m[k]
		}
		if d := cmp.Diff(want, got); d != "" {
			return false, fmt.Errorf("Task series (-want +got):\n%s", d)
		}
		return true, nil
	})
	if _, still := m[queuedKey]; still {
		t.Errorf("%s still reported with nothing queued", queuedKey)
	}
}
