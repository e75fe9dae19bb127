package rbacproof

import (
	"context"
	"os"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, testenv.Options{KubeOpenCodeAPI: true}, &env, nil))
}

// apply creates objs as the cluster admin.
func apply(ctx context.Context, t *testing.T, objs []runtime.Object) {
	t.Helper()
	for _, o := range objs {
		obj, ok := o.(client.Object)
		if !ok {
			t.Fatalf("%T is not a client.Object", o)
		}
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s %s/%s: %v", o.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
}

// serviceAccountConfig creates the ServiceAccount and returns a rest.Config that authenticates
// with a token from the TokenRequest API, as a Pod running as that ServiceAccount would.
func serviceAccountConfig(ctx context.Context, t *testing.T, namespace, name string) *rest.Config {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := env.Client.Create(ctx, sa); err != nil {
		t.Fatalf("creating ServiceAccount: %v", err)
	}
	admin := kubernetes.NewForConfigOrDie(env.Config)
	tr, err := admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", namespace, name, err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	// Prove the token authenticates as the ServiceAccount, so every 403 below is RBAC's answer
	// for that identity and not an authentication failure.
	review, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview with the ServiceAccount token: %v", err)
	}
	if want := "system:serviceaccount:" + namespace + ":" + name; review.Status.UserInfo.Username != want {
		t.Fatalf("token authenticates as %q, want %q", review.Status.UserInfo.Username, want)
	}
	return cfg
}

// impersonating returns an admin config that acts as user (the admin is allowed to impersonate).
func impersonating(user string) *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	return cfg
}

func newClient(t *testing.T, cfg *rest.Config) client.WithWatch {
	t.Helper()
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
