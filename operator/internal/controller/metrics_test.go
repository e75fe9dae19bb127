package controller_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
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
