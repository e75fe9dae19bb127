package sandbox_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/credentials/stage"
	"github.com/kubeopencode/kubeopencode/examples/sandbox"
	"github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// The sample's template (config/samples/sandbox.yaml): it invites "team-*".
const (
	platformNS   = "sandbox-platform"
	templateName = "python"
)

// waitFor polls cond for at most 30 seconds.
func waitFor(ctx context.Context, t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		done, msg := cond(ctx)
		if ctx.Err() == nil { // an attempt cut short by the deadline says nothing
			last = msg
		}
		return done, nil
	})
	if err != nil {
		t.Fatalf("%s: not within 30s; last: %s", what, last)
	}
}

// readyCondition waits until the Sandbox has a Ready condition, and returns the Sandbox.
func readyCondition(ctx context.Context, t *testing.T, namespace, name string) (*v1alpha1.Sandbox, metav1.Condition) {
	t.Helper()
	sb := &v1alpha1.Sandbox{}
	waitFor(ctx, t, "Sandbox "+namespace+"/"+name+" gets a Ready condition", func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sb); err != nil {
			return false, err.Error()
		}
		return meta.FindStatusCondition(sb.Status.Conditions, sandbox.ConditionReady) != nil, fmt.Sprint(sb.Status)
	})
	return sb, *meta.FindStatusCondition(sb.Status.Conditions, sandbox.ConditionReady)
}

// podsOf lists the Pods labelled with the Sandbox's UID, in every namespace.
func podsOf(ctx context.Context, t *testing.T, sb *v1alpha1.Sandbox) []corev1.Pod {
	t.Helper()
	list := &corev1.PodList{}
	if err := env.Client.List(ctx, list, client.MatchingLabels{sandbox.Labels().Keys().OwnerUID: string(sb.UID)}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func namespace(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func newSandbox(namespace, name string, ref v1alpha1.TemplateReference) *v1alpha1.Sandbox {
	return &v1alpha1.Sandbox{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       v1alpha1.SandboxSpec{TemplateRef: ref, Command: []string{"python3", "-c", "print(1)"}},
	}
}

// TestSampleSandboxRunsHardened: the sample Sandbox from team-a gets a Pod in the template's
// namespace that passes Pod Security "restricted", runs as the non-root sandbox UID, mounts no
// token, and receives one credential as an env variable and one as a 0400 staged file.
func TestSampleSandboxRunsHardened(t *testing.T) {
	ctx := context.Background()
	sb, cond := readyCondition(ctx, t, "team-a", "hello")
	if cond.Status != metav1.ConditionTrue || cond.Reason != sandbox.ReasonPodCreated {
		t.Fatalf("Ready = %s %s: %s", cond.Status, cond.Reason, cond.Message)
	}
	pods := podsOf(ctx, t, sb)
	if len(pods) != 1 {
		t.Fatalf("got %d Pods for the Sandbox, want 1", len(pods))
	}
	pod := &pods[0]
	if got, want := []string{sb.Status.PodNamespace, sb.Status.PodName}, []string{platformNS, pod.Name}; !slices.Equal(got, want) || pod.Namespace != platformNS {
		t.Errorf("Pod %s/%s, status says %v; want it in %s", pod.Namespace, pod.Name, got, platformNS)
	}
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if v := judge.Judge(pod); !v.Allowed {
		t.Errorf("the created Pod fails the judge: %s", v.Message())
	}

	type hardening struct {
		Container                         string
		UID                               int64
		NonRoot, Escalation, ReadOnlyRoot bool
		Drop                              []corev1.Capability
		Seccomp                           corev1.SeccompProfileType
	}
	var got []hardening
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		sc := c.SecurityContext
		got = append(got, hardening{c.Name, *sc.RunAsUser, *sc.RunAsNonRoot, *sc.AllowPrivilegeEscalation,
			*sc.ReadOnlyRootFilesystem, sc.Capabilities.Drop, sc.SeccompProfile.Type})
	}
	h := func(name string) hardening {
		return hardening{name, podspec.DefaultUID, true, false, true, []corev1.Capability{"ALL"}, corev1.SeccompProfileTypeRuntimeDefault}
	}
	want := []hardening{h(credentials.StagingContainerName), h(podspec.AgentInitContainerName), h(podspec.AgentContainerName)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("container hardening (-want +got):\n%s", diff)
	}
	if *pod.Spec.AutomountServiceAccountToken || pod.Spec.ServiceAccountName != "sandbox-runner" {
		t.Errorf("service account %q, token mounted %t; want sandbox-runner without token", pod.Spec.ServiceAccountName, *pod.Spec.AutomountServiceAccountToken)
	}
	if diff := cmp.Diff([]string{
		"env PIP_INDEX_TOKEN from package-index/token",
		"file /home/agent/.signing/key.pem mode 0400 from signing-key/key.pem",
	}, received(t, pod)); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	wantLabels := map[string]string{podspec.LabelManagedBy: sandbox.ManagedBy, "sandbox.example.com/sandbox-namespace": "team-a",
		"sandbox.example.com/sandbox-name": "hello", "sandbox.example.com/template": templateName}
	for k, v := range wantLabels {
		if pod.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
}

// received describes the credentials of the sandbox container.
func received(t *testing.T, pod *corev1.Pod) []string {
	t.Helper()
	secretOf := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			secretOf[v.Name] = v.Secret.SecretName
		}
	}
	staged := map[string]stage.Item{}
	for _, c := range pod.Spec.InitContainers {
		for _, e := range c.Env {
			if c.Name == credentials.StagingContainerName && e.Name == stage.ManifestEnv {
				m, err := stage.ParseManifest([]byte(e.Value))
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range m.Items {
					staged[it.Dir+"/"+it.Key] = it
				}
			}
		}
	}
	var out []string
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out = append(out, fmt.Sprintf("env %s from %s/%s", e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key))
			}
		}
		for _, m := range c.VolumeMounts {
			if it, ok := staged[m.SubPath]; ok && m.Name == credentials.StagedVolumeName && m.ReadOnly {
				out = append(out, fmt.Sprintf("file %s mode %04o from %s/%s", m.MountPath, it.Mode, secretOf[it.Volume], it.Key))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestNamespaceDecisions: which Sandboxes get a Pod. Only the template's own namespace and the
// namespaces its allowedNamespaces invites do; a refusal creates no Pod anywhere and does not
// reveal the template's patterns; a template the libraries reject, or whose patterns are invalid,
// runs nothing.
func TestNamespaceDecisions(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"team-b", "outsider"} {
		namespace(ctx, t, ns)
	}
	fileMode := int32(0o400)
	for _, tmpl := range []*v1alpha1.SandboxTemplate{
		{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: "reserved-env"}, Spec: v1alpha1.SandboxTemplateSpec{
			ToolsImage: "example.com/tools:v1", Image: "example.com/python:3", AllowedNamespaces: []string{"team-*"},
			Credentials: []v1alpha1.Credential{{Name: "path", SecretName: "package-index", Key: "token", Env: "PATH"}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: "tools-path"}, Spec: v1alpha1.SandboxTemplateSpec{
			ToolsImage: "example.com/tools:v1", Image: "example.com/python:3", AllowedNamespaces: []string{"team-*"},
			Credentials: []v1alpha1.Credential{{Name: "key", SecretName: "signing-key", Key: "key.pem", MountPath: "/tools/key.pem", FileMode: &fileMode}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: "bad-glob"}, Spec: v1alpha1.SandboxTemplateSpec{
			ToolsImage: "example.com/tools:v1", Image: "example.com/python:3", AllowedNamespaces: []string{"Team-*"}}},
	} {
		if err := env.Client.Create(ctx, tmpl); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, namespace string
		ref             v1alpha1.TemplateReference
		want            string // Ready reason
	}{
		{"template's own namespace", platformNS, v1alpha1.TemplateReference{Name: templateName}, sandbox.ReasonPodCreated},
		{"invited by team-*", "team-b", v1alpha1.TemplateReference{Name: templateName, Namespace: platformNS}, sandbox.ReasonPodCreated},
		{"not invited", "outsider", v1alpha1.TemplateReference{Name: templateName, Namespace: platformNS}, string(policy.ReasonNamespaceNotAllowed)},
		{"template missing", "team-b", v1alpha1.TemplateReference{Name: "nope", Namespace: platformNS}, sandbox.ReasonTemplateNotFound},
		{"reserved env name", "team-b", v1alpha1.TemplateReference{Name: "reserved-env", Namespace: platformNS}, sandbox.ReasonInvalidTemplate},
		{"credential under /tools", "team-b", v1alpha1.TemplateReference{Name: "tools-path", Namespace: platformNS}, sandbox.ReasonInvalidTemplate},
		{"invalid pattern refuses all", "team-b", v1alpha1.TemplateReference{Name: "bad-glob", Namespace: platformNS}, string(policy.ReasonInvalidPolicy)},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb := newSandbox(c.namespace, fmt.Sprintf("decision-%d", i), c.ref)
			if err := env.Client.Create(ctx, sb); err != nil {
				t.Fatal(err)
			}
			sb, cond := readyCondition(ctx, t, sb.Namespace, sb.Name)
			if cond.Reason != c.want {
				t.Fatalf("Ready reason %s (%s), want %s", cond.Reason, cond.Message, c.want)
			}
			wantPods := 0
			if c.want == sandbox.ReasonPodCreated {
				wantPods = 1
			}
			if got := len(podsOf(ctx, t, sb)); got != wantPods {
				t.Errorf("%d Pods, want %d", got, wantPods)
			}
			if c.want == string(policy.ReasonNamespaceNotAllowed) && strings.Contains(cond.Message, "team-*") {
				t.Errorf("the refusal reveals the template's patterns: %s", cond.Message)
			}
		})
	}
}

// TestDeletingASandboxDeletesOnlyItsPod: the finalizer removes the Sandbox's Pod from the
// template's namespace, found by the Sandbox UID label; another Pod there, even one with the same
// task-name label, is left alone.
func TestDeletingASandboxDeletesOnlyItsPod(t *testing.T) {
	ctx := context.Background()
	namespace(ctx, t, "team-c")
	sb := newSandbox("team-c", "short-lived", v1alpha1.TemplateReference{Name: templateName, Namespace: platformNS})
	if err := env.Client.Create(ctx, sb); err != nil {
		t.Fatal(err)
	}
	sb, cond := readyCondition(ctx, t, sb.Namespace, sb.Name)
	if cond.Reason != sandbox.ReasonPodCreated {
		t.Fatalf("Ready reason %s: %s", cond.Reason, cond.Message)
	}
	if !slices.Contains(sb.Finalizers, sandbox.Finalizer) {
		t.Fatalf("finalizers %v, want %s", sb.Finalizers, sandbox.Finalizer)
	}
	bystander := podsOf(ctx, t, sb)[0].DeepCopy()
	bystander.ObjectMeta = metav1.ObjectMeta{Namespace: platformNS, Name: "bystander", Labels: map[string]string{
		podspec.LabelManagedBy: sandbox.ManagedBy, "sandbox.example.com/sandbox-name": "short-lived",
		"sandbox.example.com/sandbox-uid": "another-uid"}}
	if err := env.Client.Create(ctx, bystander); err != nil {
		t.Fatal(err)
	}

	if err := env.Client.Delete(ctx, sb); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the Sandbox and its Pod are gone", func(ctx context.Context) (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(sb), &v1alpha1.Sandbox{})
		n := len(podsOf(ctx, t, sb))
		return apierrors.IsNotFound(err) && n == 0, fmt.Sprintf("get Sandbox: %v; %d Pods", err, n)
	})
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bystander), &corev1.Pod{}); err != nil {
		t.Errorf("the bystander Pod: %v", err)
	}
}

// TestRBACIsLeastPrivilege: the controller's RBAC holds no dangerous grant, and the API server
// agrees that its ServiceAccount can read no Secret, exec into no Pod and change no template.
// (Every other test runs the controller as that ServiceAccount, which proves the RBAC is enough.)
func TestRBACIsLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	objs, err := sandbox.RBACObjects(sandbox.DefaultNamespace, sandbox.DefaultServiceAccount)
	if err != nil {
		t.Fatal(err)
	}
	role, ok := objs[0].(*rbacv1.ClusterRole)
	if !ok {
		t.Fatalf("first object is %T, want the ClusterRole", objs[0])
	}
	// Creating Pods is what the controller is for (rbac flags it: a Pod may run as any
	// ServiceAccount of its namespace); nothing else may be dangerous.
	if found := kocrbac.WithoutAccepted(rbac.FindDangerous(role.Rules), map[string]string{"pods:create": "creates sandbox Pods"}); len(found) > 0 {
		t.Errorf("dangerous grants: %v", found)
	}
	cases := map[string]struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		"create pods":             {authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Namespace: platformNS}, true},
		"update sandboxes/status": {authorizationv1.ResourceAttributes{Verb: "update", Group: "sandbox.example.com", Resource: "sandboxes", Subresource: "status", Namespace: "team-a"}, true},
		"get secrets":             {authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: platformNS, Name: "signing-key"}, false},
		"list secrets":            {authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets"}, false},
		"exec into pods":          {authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: platformNS}, false},
		"update pods":             {authorizationv1.ResourceAttributes{Verb: "update", Resource: "pods", Namespace: platformNS}, false},
		"update templates":        {authorizationv1.ResourceAttributes{Verb: "update", Group: "sandbox.example.com", Resource: "sandboxtemplates", Namespace: platformNS}, false},
		"create service tokens":   {authorizationv1.ResourceAttributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: platformNS}, false},
	}
	want, got := map[string]bool{}, map[string]bool{}
	for name, c := range cases {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: controllerUser.UserName, Groups: controllerUser.Groups, ResourceAttributes: &c.attrs}}
		if err := env.Client.Create(ctx, sar); err != nil {
			t.Fatal(err)
		}
		want[name], got[name] = c.want, sar.Status.Allowed
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the controller's access (-want +got):\n%s", diff)
	}
}
