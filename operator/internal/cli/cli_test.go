package cli_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/cli"
	"github.com/kubeopencode/kubeopencode/operator/internal/logserver"
	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

var env *testenv.Env

// The test world: alice is a task author in teamA with use on the Agent platform/coder and
// nothing in the Agent namespace; mallory is a task author in her own namespace only, with use
// on the Agent too; eve may create Tasks in teamA but has no use on the Agent (the admission
// policy refuses her). All authenticate with ServiceAccount tokens, as a kubeconfig would.
var (
	teamA, teamM, agentsNS, serverNS string
	alice, mallory, eve              *rest.Config
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, testenv.Options{KubeOpenCodeAPI: true}, &env, func(*testenv.Env) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return setUp(ctx)
	}))
}

func setUp(ctx context.Context) error {
	teamA, teamM, agentsNS, serverNS = "team-a", "team-m", "platform", "kubeopencode-system"
	for _, ns := range []string{teamA, teamM, agentsNS, serverNS} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	// The admission policy of T2 (it also emits the agent-user ClusterRole).
	manifest, err := policy.RenderYAML(kocpolicy.AgentUsePolicy(kocpolicy.AdmissionPolicyOptions{}),
		kocpolicy.AgentUsePolicyBinding(kocpolicy.AdmissionPolicyOptions{}), kocpolicy.AgentUserClusterRole(kocpolicy.AgentUserRoleOptions{}))
	if err != nil {
		return err
	}
	var objs []client.Object
	for _, doc := range strings.Split(string(manifest), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue // every document starts with a separator
		}
		u := &unstructured.Unstructured{}
		if err := yaml.UnmarshalStrict([]byte(doc), &u.Object); err != nil {
			return err
		}
		objs = append(objs, u)
	}
	for _, p := range []kocrbac.Persona{kocrbac.PersonaTaskAuthor, kocrbac.PersonaViewer} {
		r, err := kocrbac.PersonaClusterRole(p)
		if err != nil {
			return err
		}
		objs = append(objs, r)
	}
	lr, err := kocrbac.LogReaderObjects(kocrbac.LogReaderOptions{Namespace: serverNS, AgentNamespaces: []string{agentsNS}})
	if err != nil {
		return err
	}
	for _, o := range lr {
		objs = append(objs, o.(client.Object))
	}
	bind := func(ns, role, saNS, sa string) client.Object {
		b, _ := rbac.RoleBinding(rbac.BindingSpec{Name: role + "-" + sa, Namespace: ns, RoleRef: rbac.RoleRefToClusterRole(role),
			Subjects: []rbacv1.Subject{rbac.ServiceAccountSubject(saNS, sa)}})
		return b
	}
	objs = append(objs,
		bind(teamA, kocrbac.TaskAuthorRoleName, teamA, "alice"), bind(agentsNS, kocrbac.AgentUserRoleName, teamA, "alice"),
		bind(teamM, kocrbac.TaskAuthorRoleName, teamM, "mallory"), bind(agentsNS, kocrbac.AgentUserRoleName, teamM, "mallory"),
		bind(teamA, kocrbac.TaskAuthorRoleName, teamA, "eve"),
		&v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: agentsNS, Name: "coder"},
			Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "agent", AllowedNamespaces: []string{teamA, teamM}}},
	)
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	if alice, err = tokenConfig(ctx, teamA, "alice"); err != nil {
		return err
	}
	if mallory, err = tokenConfig(ctx, teamM, "mallory"); err != nil {
		return err
	}
	if eve, err = tokenConfig(ctx, teamA, "eve"); err != nil {
		return err
	}
	// Wait until the policy is enforced: eve's dry-run create is refused by it.
	c, err := client.New(eve, client.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		err := c.Create(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: teamA, Name: "probe"},
			Spec: v1alpha1.TaskSpec{Description: "x", AgentRef: v1alpha1.AgentReference{Namespace: agentsNS, Name: "coder"}}}, client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy"), nil
	})
}

// tokenConfig is a kubeconfig-equivalent for a ServiceAccount token: no admin, no client cert.
func tokenConfig(ctx context.Context, ns, name string) (*rest.Config, error) {
	admin := kubernetes.NewForConfigOrDie(env.Config)
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg, nil
}

type result struct {
	code           int
	stdout, stderr string
}

// kubectlKubeopencode runs the CLI as the given identity with namespace ns as the default.
func kubectlKubeopencode(ctx context.Context, cfg *rest.Config, ns string, args ...string) result {
	var out, errb bytes.Buffer
	code := cli.Main(ctx, "kubectl kubeopencode", args, cli.Env{Stdout: &out, Stderr: &errb, Config: cfg, Namespace: ns,
		Getenv: func(string) string { return "" }})
	return result{code, out.String(), errb.String()}
}

func getTask(t *testing.T, ns, name string) *v1alpha1.Task {
	t.Helper()
	tk := &v1alpha1.Task{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

// finish plays the operator: the final status it would write, and an Event.
func finish(t *testing.T, tk *v1alpha1.Task, phase v1alpha1.TaskPhase, code int32, res string) {
	t.Helper()
	ctx := context.Background()
	cur := getTask(t, tk.Namespace, tk.Name)
	cur.Status.Phase = phase
	cur.Status.ExitCode, cur.Status.Result = ptr.To(code), res
	status, reason := metav1.ConditionTrue, v1alpha1.ReasonAgentSucceeded
	if phase == v1alpha1.TaskPhaseFailed {
		status, reason = metav1.ConditionFalse, v1alpha1.ReasonAgentFailed
	}
	cur.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionSucceeded, Status: status, Reason: reason,
		Message: fmt.Sprintf("the agent exited with status %d", code), LastTransitionTime: metav1.Now()}}
	if err := env.Client.Status().Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	ev := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: tk.Namespace, GenerateName: "ev-"}, EventTime: metav1.NowMicro(),
		ReportingController: "kubeopencode.io/operator", ReportingInstance: "test", Action: "Fail", Reason: "AgentFailed", Type: corev1.EventTypeWarning,
		Note: "the agent said no", Regarding: corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Task",
			Namespace: tk.Namespace, Name: tk.Name, UID: cur.UID}}
	if err := env.Client.Create(ctx, ev); err != nil {
		t.Fatal(err)
	}
}

// TestTaskAuthorWorkflow: alice runs a Task on an Agent in another namespace, lists,
// describes (result, conditions, Events) and stops it, with her own token and nothing else.
func TestTaskAuthorWorkflow(t *testing.T) {
	ctx := context.Background()
	ctxFile := filepath.Join(t.TempDir(), "notes for the agent.md")
	if err := os.WriteFile(ctxFile, []byte("use go 1.26"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := kubectlKubeopencode(ctx, alice, teamA, "run", "--agent", agentsNS+"/coder", "--name", "fix-it", "--timeout", "30m",
		"--context", ctxFile, "fix the flaky test")
	if r.code != 0 || r.stdout != "task.kubeopencode.io/fix-it created\n" {
		t.Fatalf("run: %+v", r)
	}
	tk := getTask(t, teamA, "fix-it")
	want := v1alpha1.TaskSpec{Description: "fix the flaky test", AgentRef: v1alpha1.AgentReference{Namespace: agentsNS, Name: "coder"},
		Timeout:  &metav1.Duration{Duration: 30 * time.Minute},
		Contexts: []v1alpha1.ContextItem{{Name: "notes-for-the-agent.md", Type: v1alpha1.ContextTypeText, Text: "use go 1.26"}}}
	if diff := cmp.Diff(want, tk.Spec); diff != "" {
		t.Errorf("Task spec (-want +got):\n%s", diff)
	}

	finish(t, tk, v1alpha1.TaskPhaseFailed, 3, "tests still flaky\nsee TestFoo")
	r = kubectlKubeopencode(ctx, alice, teamA, "list")
	if r.code != 0 || !strings.Contains(r.stdout, "fix-it") || !strings.Contains(r.stdout, "Failed") ||
		!strings.Contains(r.stdout, agentsNS+"/coder") || !strings.Contains(r.stdout, "see TestFoo") {
		t.Errorf("list: %+v", r)
	}
	r = kubectlKubeopencode(ctx, alice, teamA, "describe", "fix-it")
	for _, s := range []string{"Phase:      Failed", "Exit Code:  3", "  tests still flaky\n  see TestFoo", "Succeeded  False   AgentFailed",
		"Warning  AgentFailed  Fail    the agent said no", "Timeout:    30m0s"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("describe does not show %q:\n%s", s, r.stdout)
		}
	}
	r = kubectlKubeopencode(ctx, alice, teamA, "stop", "fix-it")
	if r.code != 0 || getTask(t, teamA, "fix-it").Annotations[v1alpha1.StopAnnotation] != "true" {
		t.Errorf("stop: %+v, annotations %v", r, getTask(t, teamA, "fix-it").Annotations)
	}
}

// TestRunWait: --wait returns when the Task ends, prints its result, and exits 0 only if it
// Completed.
func TestRunWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		phase v1alpha1.TaskPhase
		code  int
	}{{"wait-ok", v1alpha1.TaskPhaseCompleted, 0}, {"wait-failed", v1alpha1.TaskPhaseFailed, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan result)
			go func() {
				done <- kubectlKubeopencode(ctx, alice, teamA, "run", "--agent", agentsNS+"/coder", "--name", tc.name, "--wait", "do it")
			}()
			var tk *v1alpha1.Task
			if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				tk = &v1alpha1.Task{}
				err := env.Client.Get(ctx, client.ObjectKey{Namespace: teamA, Name: tc.name}, tk)
				return err == nil, nil
			}); err != nil {
				t.Fatal(err)
			}
			finish(t, tk, tc.phase, 0, "Opened PR #12")
			r := <-done
			if r.code != tc.code || !strings.Contains(r.stdout, "Phase:      "+string(tc.phase)) || !strings.Contains(r.stdout, "Opened PR #12") {
				t.Errorf("run --wait: %+v", r)
			}
		})
	}
}

// TestAPIServerErrorsAsTheyAre: the CLI adds no privilege and rewrites no refusal: mallory's
// create in team-a is RBAC's 403, eve's is the admission policy's, printed as the API server
// wrote them.
func TestAPIServerErrorsAsTheyAre(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		who    string
		cfg    *rest.Config
		expect string
	}{{"mallory", mallory, "cannot create resource"}, {"eve", eve, "ValidatingAdmissionPolicy"}} {
		t.Run(tc.who, func(t *testing.T) {
			c, err := client.New(tc.cfg, client.Options{Scheme: env.Scheme})
			if err != nil {
				t.Fatal(err)
			}
			direct := c.Create(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: teamA, Name: "by-" + tc.who},
				Spec: v1alpha1.TaskSpec{Description: "x", AgentRef: v1alpha1.AgentReference{Namespace: agentsNS, Name: "coder"}}})
			if !apierrors.IsForbidden(direct) || !strings.Contains(direct.Error(), tc.expect) {
				t.Fatalf("direct create: %v", direct)
			}
			r := kubectlKubeopencode(ctx, tc.cfg, teamA, "run", "--agent", agentsNS+"/coder", "--name", "by-"+tc.who, "x")
			if r.code != 1 || r.stderr != "Error from server: "+direct.Error()+"\n" {
				t.Errorf("run as %s: %+v\nwant stderr: Error from server: %v", tc.who, r, direct)
			}
		})
	}
}

// TestLogs: logs goes through the log server with the caller's token: alice reaches her Task's
// Pod (envtest has no kubelet, so the API server's answer names the Pod's node), mallory gets
// the log server's 403 as it is, and an http:// log server is refused (it would get the token).
func TestLogs(t *testing.T) {
	ctx := context.Background()
	reader, err := tokenConfig(ctx, serverNS, kocrbac.DefaultLogReaderServiceAccount)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := client.New(reader, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer((&logserver.Server{Kube: kubernetes.NewForConfigOrDie(reader), Tasks: tasks, Log: logr.Discard()}).Handler())
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	if r := kubectlKubeopencode(ctx, alice, teamA, "run", "--agent", agentsNS+"/coder", "--name", "with-logs", "x"); r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	tk := getTask(t, teamA, "with-logs")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: agentsNS, Name: podspec.DNSLabel(tk.Name, string(tk.UID)),
		Labels: map[string]string{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue, v1alpha1.TaskUIDLabel: string(tk.UID)}},
		Spec: corev1.PodSpec{NodeName: "alice-node", Containers: []corev1.Container{{Name: "agent", Image: "x"}}}}
	if err := env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	logs := func(cfg *rest.Config, ns string, extra ...string) result {
		return kubectlKubeopencode(ctx, cfg, ns, append([]string{"logs", "with-logs", "--log-server", srv.URL, "--log-server-ca", caFile}, extra...)...)
	}
	if r := logs(alice, teamA, "-f"); r.code != 1 || !strings.Contains(r.stderr, `Error from server: pods "alice-node" not found`) {
		t.Errorf("alice: %+v", r)
	}
	r := logs(mallory, teamA)
	if r.code != 1 || !strings.Contains(r.stderr, `Error from server: tasks/log.kubeopencode.io "with-logs" is forbidden: User "system:serviceaccount:team-m:mallory" cannot get resource "tasks/log"`) {
		t.Errorf("mallory: %+v", r)
	}
	r = kubectlKubeopencode(ctx, alice, teamA, "logs", "with-logs", "--log-server", strings.Replace(srv.URL, "https", "http", 1))
	if r.code != 2 || !strings.Contains(r.stderr, "must be https://") {
		t.Errorf("http log server: %+v", r)
	}
}
