package admissiontest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// operatorUser is the operator's ServiceAccount as the API server names it; it is bound to
// exactly the generated operator roles (installPersonasAndOperator).
const operatorUser = "system:serviceaccount:" + kocrbac.DefaultOperatorNamespace + ":" + kocrbac.DefaultOperatorServiceAccount

// installPersonasAndOperator creates the generated persona ClusterRoles (unbound) and the
// operator's namespace, ServiceAccount and generated roles with their bindings.
func installPersonasAndOperator(ctx context.Context) error {
	for _, p := range []kocrbac.Persona{kocrbac.PersonaTaskAuthor, kocrbac.PersonaViewer, kocrbac.PersonaFinalizerRemover} {
		role, err := kocrbac.PersonaClusterRole(p)
		if err != nil {
			return err
		}
		if err := env.Client.Create(ctx, role); err != nil {
			return fmt.Errorf("creating persona %s: %w", p, err)
		}
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kocrbac.DefaultOperatorNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: kocrbac.DefaultOperatorNamespace, Name: kocrbac.DefaultOperatorServiceAccount}},
	}
	ops, err := kocrbac.OperatorObjects(kocrbac.OperatorOptions{})
	if err != nil {
		return err
	}
	for _, o := range ops {
		objs = append(objs, o.(client.Object))
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// impersonate returns a client acting as user (a ServiceAccount user name included; RBAC binds
// ServiceAccount subjects by that name).
func impersonate(t testing.TB, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bindPersona binds a generated persona ClusterRole to user in namespace, as a platform team does.
func bindPersona(ctx context.Context, t testing.TB, namespace, user string, p kocrbac.Persona) {
	t.Helper()
	mustCreate(ctx, t, roleBinding(namespace, p.RoleName()+"-"+user,
		rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: p.RoleName()}, user))
}

// grant gives user a Role in namespace with the rules, named name.
func grant(ctx context.Context, t testing.TB, namespace, name, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	mustCreate(ctx, t,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Rules: rules},
		roleBinding(namespace, name, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, user))
}

// refusedBy returns the message of a refusal by the named ValidatingAdmissionPolicy, or fails.
func refusedBy(t testing.TB, err error, policyName string) string {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsForbidden(err) ||
		!strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+policyName+"' with binding '"+policyName+"' denied request: ") {
		t.Fatalf("got %v; want a Forbidden refusal by ValidatingAdmissionPolicy %s", err, policyName)
	}
	return status.Status().Message
}

// untilAdmitted retries do while RBAC or any admission policy refuses it (fresh bindings reach
// the authorizer asynchronously), bounded, and returns the last error: nil once admitted.
func untilAdmitted(ctx context.Context, do func(context.Context) error) error {
	var last error
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = do(ctx)
		return !apierrors.IsForbidden(last), nil
	})
	return last
}

// pastRBAC retries do while RBAC itself refuses it, and returns the outcome once the request
// reached admission: nil, or the admission refusal.
func pastRBAC(ctx context.Context, do func(context.Context) error) error {
	var last error
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = do(ctx)
		return !isRBACDenial(last), nil
	})
	return last
}

// untilAdmittedOr retries do, bounded, until done accepts its error (RBAC refusals are retried
// first), and returns the last error.
func untilAdmittedOr(ctx context.Context, do func(context.Context) error, done func(error) bool) error {
	var last error
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = do(ctx)
		return !isRBACDenial(last) && done(last), nil
	})
	return last
}
