package logserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/logserver"
	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, testenv.Options{KubeOpenCodeAPI: true}, &env, nil))
}

// token creates the ServiceAccount and returns a TokenRequest token for it: the bearer token a
// user's kubeconfig would carry.
func token(ctx context.Context, t *testing.T, ns, name string) string {
	t.Helper()
	admin := kubernetes.NewForConfigOrDie(env.Config)
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func apply(ctx context.Context, t *testing.T, objs ...runtime.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(ctx, o.(client.Object)); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.(client.Object).GetName(), err)
		}
	}
}

func bindSA(t *testing.T, ns, role string, saNS, sa string) runtime.Object {
	t.Helper()
	b, err := rbac.RoleBinding(rbac.BindingSpec{Name: role + "-" + saNS + "-" + sa, Namespace: ns,
		RoleRef: rbac.RoleRefToClusterRole(role), Subjects: []rbacv1.Subject{rbac.ServiceAccountSubject(saNS, sa)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agentPod plays the operator: the Task's Pod in the Agent namespace, under the derived name
// with the Task's UID label. nodeName tells the Pods apart in the API server's pods/log answer
// (envtest has no kubelet: the API server names the node it would have asked).
func agentPod(ctx context.Context, t *testing.T, ns string, task *v1alpha1.Task, nodeName string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: podspec.DNSLabel(task.Name, string(task.UID)),
			Labels: map[string]string{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue, v1alpha1.TaskUIDLabel: string(task.UID)}},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: podspec.AgentContainerName, Image: "example.com/agent:1"}}},
	}
	apply(ctx, t, pod)
	return pod
}

type response struct {
	code   int
	body   string
	status metav1.Status
}

func get(t *testing.T, srv *httptest.Server, tok, ns, name string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+logserver.LogPath(ns, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{code: resp.StatusCode, body: string(b)}
	_ = json.Unmarshal(b, &r.status)
	return r
}

// TestT23LogsForExactlyTheTaskReaders: the log server serves a Task's agent Pod logs to whoever
// may get tasks/log on that Task (alice: task author in team-a with use on the Agent and
// nothing in the Agent namespace), refuses everybody else before reading anything (mallory:
// task author elsewhere; dave: may get the Task but not tasks/log), and finds the Pod by the
// Task's UID in the namespace computed from spec.agentRef, so a forged status leads nowhere.
func TestT23LogsForExactlyTheTaskReaders(t *testing.T) {
	ctx := context.Background()
	teamA, teamM, teamB := env.Namespace(ctx, t), env.Namespace(ctx, t), env.Namespace(ctx, t)
	agentsNS, serverNS, otherAgents := env.Namespace(ctx, t), env.Namespace(ctx, t), env.Namespace(ctx, t)

	// The generated roles: personas, and the log reader bound in agentsNS only.
	var objs []runtime.Object
	for _, p := range kocrbac.Personas() {
		r, err := kocrbac.PersonaClusterRole(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, r)
	}
	lr, err := kocrbac.LogReaderObjects(kocrbac.LogReaderOptions{Namespace: serverNS, AgentNamespaces: []string{agentsNS}})
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, lr...)
	getTasksOnly, err := rbac.ClusterRole(rbac.RoleSpec{Name: "get-tasks-only", Rules: []rbac.Rule{{Group: kocrbac.APIGroup, Resources: []string{"tasks"}, Verbs: []string{"get"}}}})
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, getTasksOnly,
		bindSA(t, teamA, kocrbac.TaskAuthorRoleName, teamA, "alice"),
		bindSA(t, agentsNS, kocrbac.AgentUserRoleName, teamA, "alice"),
		bindSA(t, teamM, kocrbac.TaskAuthorRoleName, teamM, "mallory"),
		bindSA(t, agentsNS, kocrbac.AgentUserRoleName, teamM, "mallory"),
		bindSA(t, teamA, "get-tasks-only", teamA, "dave"),
		bindSA(t, teamA, kocrbac.ViewerRoleName, teamA, "carol"),
	)
	apply(ctx, t, objs...)
	alice, mallory, dave, carol := token(ctx, t, teamA, "alice"), token(ctx, t, teamM, "mallory"), token(ctx, t, teamA, "dave"), token(ctx, t, teamA, "carol")
	readerTok := token(ctx, t, serverNS, kocrbac.DefaultLogReaderServiceAccount)

	// The server runs with the log reader's token only.
	readerCfg := rest.AnonymousClientConfig(env.Config)
	readerCfg.BearerToken = readerTok
	tasks, err := client.New(readerCfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer((&logserver.Server{Kube: kubernetes.NewForConfigOrDie(readerCfg), Tasks: tasks, Log: logr.Discard()}).Handler())
	defer srv.Close()

	apply(ctx, t, &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: agentsNS, Name: "coder"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "agent", AllowedNamespaces: []string{teamA, teamM, teamB}}})
	newTask := func(c client.Client, ns, name, agentNS string) *v1alpha1.Task {
		tk := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.TaskSpec{Description: "fix it", AgentRef: v1alpha1.AgentReference{Namespace: agentNS, Name: "coder"}}}
		if err := c.Create(ctx, tk); err != nil {
			t.Fatalf("creating Task %s/%s: %v", ns, name, err)
		}
		return tk
	}
	aliceCfg := rest.AnonymousClientConfig(env.Config)
	aliceCfg.BearerToken = alice
	aliceClient, err := client.New(aliceCfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	aliceTask := newTask(aliceClient, teamA, "fix-bug", agentsNS) // alice creates it herself
	bobTask := newTask(env.Client, teamB, "secret-work", agentsNS)
	aliceNoPod := newTask(aliceClient, teamA, "not-started", agentsNS)
	aliceElsewhere := newTask(aliceClient, teamA, "elsewhere", otherAgents)
	agentPod(ctx, t, agentsNS, aliceTask, "alice-node")
	bobPod := agentPod(ctx, t, agentsNS, bobTask, "bob-node")
	agentPod(ctx, t, otherAgents, aliceElsewhere, "other-node")

	// forge sets a Task's status to name bob's Pod, as anyone with tasks/status update could.
	forge := func(tk *v1alpha1.Task) {
		cur := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), cur); err != nil {
			t.Fatal(err)
		}
		cur.Status.PodName, cur.Status.PodNamespace = bobPod.Name, bobPod.Namespace
		cur.Status.AgentRef = &v1alpha1.AgentReference{Namespace: bobPod.Namespace, Name: "coder"}
		if err := env.Client.Status().Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}

	// reached says which Pod's log the API server was asked for: with no kubelet, its answer
	// names the node of that Pod.
	reached := func(r response) string {
		for _, n := range []string{"alice-node", "bob-node", "other-node"} {
			if strings.Contains(r.body, n) {
				return n
			}
		}
		return ""
	}
	cases := []struct {
		name     string
		tok      string
		ns, task string
		before   func()
		wantCode int
		wantNode string
		wantText string
	}{
		{name: "alice reads her Task's Pod log", tok: alice, ns: teamA, task: aliceTask.Name, wantNode: "alice-node"},
		{name: "carol (viewer in team-a) reads it", tok: carol, ns: teamA, task: aliceTask.Name, wantNode: "alice-node"},
		{name: "mallory (task author elsewhere) is refused", tok: mallory, ns: teamA, task: aliceTask.Name, wantCode: http.StatusForbidden,
			wantText: `cannot get resource "tasks/log"`},
		{name: "mallory learns nothing about a Task that does not exist", tok: mallory, ns: teamA, task: "no-such-task", wantCode: http.StatusForbidden},
		{name: "dave (get on tasks, not tasks/log) is refused", tok: dave, ns: teamA, task: aliceTask.Name, wantCode: http.StatusForbidden},
		{name: "alice cannot read bob's Task", tok: alice, ns: teamB, task: bobTask.Name, wantCode: http.StatusForbidden},
		{name: "no token", ns: teamA, task: aliceTask.Name, wantCode: http.StatusUnauthorized},
		{name: "a token the API server rejects", tok: "not-a-token", ns: teamA, task: aliceTask.Name, wantCode: http.StatusUnauthorized},
		{name: "forged status on alice's running Task still leads to her Pod", tok: alice, ns: teamA, task: aliceTask.Name,
			before: func() { forge(aliceTask) }, wantNode: "alice-node"},
		{name: "forged status on a Task without a Pod leads nowhere", tok: alice, ns: teamA, task: aliceNoPod.Name,
			before: func() { forge(aliceNoPod) }, wantCode: http.StatusNotFound, wantText: "has no agent Pod"},
		{name: "a Pod in a namespace the reader may not read", tok: alice, ns: teamA, task: aliceElsewhere.Name, wantCode: http.StatusNotFound,
			wantText: "does not serve Agent namespace " + otherAgents},
		{name: "alice's Task that does not exist", tok: alice, ns: teamA, task: "gone", wantCode: http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			r := get(t, srv, tc.tok, tc.ns, tc.task)
			if got := reached(r); got != tc.wantNode {
				t.Errorf("log asked of the Pod on %q, want %q (HTTP %d %s)", got, tc.wantNode, r.code, r.body)
			}
			if tc.wantCode != 0 && r.code != tc.wantCode {
				t.Errorf("HTTP %d %s, want %d", r.code, r.body, tc.wantCode)
			}
			if tc.wantCode != 0 && (r.status.Kind != "Status" || int(r.status.Code) != tc.wantCode) {
				t.Errorf("body is not a Kubernetes Status with code %d: %s", tc.wantCode, r.body)
			}
			if !strings.Contains(r.status.Message, tc.wantText) {
				t.Errorf("message %q does not contain %q", r.status.Message, tc.wantText)
			}
			t.Logf("HTTP %d %s", r.code, r.status.Message)
		})
	}
}
