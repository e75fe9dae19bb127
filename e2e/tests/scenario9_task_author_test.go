//go:build e2e

package tests

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
)

// TestTaskAuthorSeesResultAndLogs is scenario 9 (T23), on the real node: alice — the generated
// task-author persona in her namespace and use on the Agent, nothing in the Agent's namespace —
// runs a Task with kubectl-kubeopencode, sees its exit code and result, and streams the real
// kubelet's log of her agent through the log server (kubeopencode log-server, running as its
// ServiceAccount with the roles kubeopencode-rbac --log-reader generates); mallory, a task author
// elsewhere, gets 403 for alice's Task, and a status forged to name alice's Pod gets her nothing.
func TestTaskAuthorSeesResultAndLogs(t *testing.T) {
	logOperatorOnFailure(t)
	var teamNS, malloryNS, agentsNS, dir, cliBin, logURL, caFile string
	var logServer *framework.Operator
	run := func(t *testing.T, kubeconfig string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := exec.Command(cliBin, append(args, "--kubeconfig", kubeconfig)...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	kubeconfig := func(who string) string { return filepath.Join(dir, who+".kubeconfig") }
	f := features.New("scenario 9: the task author's result and logs, and nobody else's").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			dir = t.TempDir()
			teamNS, malloryNS, agentsNS = createNamespace(ctx, t, cfg, nil), createNamespace(ctx, t, cfg, nil), createNamespace(ctx, t, cfg, nil)
			createAgent(ctx, t, c, &v1alpha1.Agent{
				ObjectMeta: metav1.ObjectMeta{Namespace: agentsNS, Name: "coder"},
				Spec: v1alpha1.AgentSpec{AgentImage: agentImage, ExecutorImage: probeImage, WorkspaceDir: "/workspace",
					ServiceAccountName: "default", Command: probeCommand(3, nil, nil), AllowedNamespaces: []string{teamNS, malloryNS}},
			})
			// An agent that reports, then runs until it is stopped.
			createAgent(ctx, t, c, &v1alpha1.Agent{
				ObjectMeta: metav1.ObjectMeta{Namespace: agentsNS, Name: "long"},
				Spec: v1alpha1.AgentSpec{AgentImage: agentImage, ExecutorImage: probeImage, WorkspaceDir: "/workspace",
					ServiceAccountName: "default", Command: append(probeCommand(0, nil, nil), "-then-pause"), AllowedNamespaces: []string{teamNS}},
			})
			// alice and mallory: ServiceAccounts with the generated personas, kubeconfigs with
			// their tokens only.
			bind := func(ns, role, saNS, sa string) client.Object {
				return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role + "-" + sa},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
					Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: sa}}}
			}
			objs := []client.Object{
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: teamNS, Name: "alice"}},
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: malloryNS, Name: "mallory"}},
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "kubeopencode-log-reader"}},
				bind(teamNS, "kubeopencode-task-author", teamNS, "alice"), bind(agentsNS, "kubeopencode-agent-user", teamNS, "alice"),
				bind(malloryNS, "kubeopencode-task-author", malloryNS, "mallory"), bind(agentsNS, "kubeopencode-agent-user", malloryNS, "mallory"),
			}
			// The log reader's roles, as the platform team generates them.
			gen := exec.CommandContext(ctx, "go", "run", "./cmd/kubeopencode-rbac", "--operator=false", "--personas=", "--log-reader",
				"--operator-namespace", operatorNamespace, "--agent-namespace", agentsNS)
			gen.Dir, gen.Env = filepath.Join(suite.repoRoot, "rbac"), append(os.Environ(), "GOWORK=off")
			yaml, err := gen.Output()
			if err != nil {
				t.Fatalf("kubeopencode-rbac --log-reader: %v", err)
			}
			roles, err := framework.DecodeUnstructured(bytes.NewReader(yaml))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range roles {
				objs = append(objs, r)
			}
			for _, o := range objs {
				if err := framework.Apply(ctx, c, o); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = ignoreNotFound(c.Delete(context.Background(), o)) })
			}
			for who, ns := range map[string]string{"alice": teamNS, "mallory": malloryNS} {
				if err := framework.ServiceAccountKubeconfig(ctx, cfg.Client().RESTConfig(), ns, who, time.Hour, kubeconfig(who)); err != nil {
					t.Fatal(err)
				}
			}
			if err := framework.ServiceAccountKubeconfig(ctx, cfg.Client().RESTConfig(), operatorNamespace, "kubeopencode-log-reader", time.Hour, kubeconfig("log-reader")); err != nil {
				t.Fatal(err)
			}
			// The plugin binary, and the log server (the operator's binary) on a loopback port.
			cliBin = filepath.Join(dir, "kubectl-kubeopencode")
			build := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(suite.repoRoot, "operator"), "-o", cliBin, "./cmd/kubectl-kubeopencode")
			build.Env = append(os.Environ(), "GOWORK=off")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("building kubectl-kubeopencode: %v\n%s", err, out)
			}
			certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
			caFile = certFile
			writeSelfSigned(t, certFile, keyFile)
			port := freePort(t)
			logURL = "https://127.0.0.1:" + port
			logServer = &framework.Operator{Binary: suite.operator.Binary, LogPath: filepath.Join(dir, "log-server.log"),
				Args: []string{"log-server", "--kubeconfig", kubeconfig("log-reader"), "--bind-address", "127.0.0.1:" + port,
					"--tls-cert-file", certFile, "--tls-key-file", keyFile}}
			if err := logServer.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("log server tail:\n%s", logServer.Tail(30))
				}
				_ = logServer.Stop(5 * time.Second)
			})
			return ctx
		}).
		Assess("alice runs a Task with the CLI and sees its exit code and result", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			code, out, errOut := run(t, kubeconfig("alice"), "run", "-n", teamNS, "--agent", agentsNS+"/coder", "--name", "fix-it",
				"--wait", "--wait-timeout", taskTimeout.String(), "report and fail")
			// The probe exits 3 after printing its report: the Task fails, and its result is the
			// tail of the agent's output (FallbackToLogsOnError).
			if code != 1 || !strings.Contains(out, "Phase:      Failed") || !strings.Contains(out, "Exit Code:  3") || !strings.Contains(out, "Result (what the agent printed):") {
				t.Errorf("run --wait: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			got := waitTaskFinal(ctx, t, adminClient(cfg), &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: teamNS, Name: "fix-it"}})
			if got.Status.ExitCode == nil || *got.Status.ExitCode != 3 || strings.TrimSpace(got.Status.Result) == "" {
				t.Errorf("status exitCode %v result %q", got.Status.ExitCode, got.Status.Result)
			}
			return ctx
		}).
		Assess("alice streams her agent's log from the real kubelet through the log server", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			code, out, errOut := run(t, kubeconfig("alice"), "logs", "-n", teamNS, "fix-it", "--log-server", logURL, "--log-server-ca", caFile)
			got := waitTaskFinal(ctx, t, adminClient(cfg), &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: teamNS, Name: "fix-it"}})
			if code != 0 || strings.TrimSpace(out) == "" || !strings.Contains(out, strings.TrimSpace(got.Status.Result)) {
				t.Errorf("logs: exit %d\nstdout:\n%s\nstderr:\n%s\nresult: %s", code, out, errOut, got.Status.Result)
			}
			t.Logf("alice's logs (%d bytes) begin: %.160s", len(out), out)
			// alice has nothing in the Agent's namespace: the API server refuses her the Pod's log.
			code, _, errOut = run(t, kubeconfig("alice"), "list", "-n", agentsNS)
			if code != 1 || !strings.Contains(errOut, "forbidden") {
				t.Errorf("alice listing Tasks in the Agent namespace: exit %d, %s", code, errOut)
			}
			return ctx
		}).
		Assess("after alice stops a running Task, its Pod is terminated but kept, and she still reads its log", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			code, out, errOut := run(t, kubeconfig("alice"), "run", "-n", teamNS, "--agent", agentsNS+"/long", "--name", "long-one", "report and wait")
			if code != 0 {
				t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: teamNS, Name: "long-one"}}
			got := waitTask(ctx, t, c, task, "to run", func(t *v1alpha1.Task) bool { return t.Status.Phase == v1alpha1.TaskPhaseRunning || isFinal(t) })
			pod := taskPod(ctx, t, c, agentsNS, got)
			waitPhase(ctx, t, cfg.Client().Resources(), pod, corev1.PodRunning)
			// The agent has printed its report before the stop.
			waitFor(ctx, t, "the agent's report in its log", time.Minute, func(context.Context) (bool, error) {
				code, out, _ := run(t, kubeconfig("alice"), "logs", "-n", teamNS, "long-one", "--log-server", logURL, "--log-server-ca", caFile)
				return code == 0 && strings.Contains(out, "{"), nil
			})
			if code, out, errOut := run(t, kubeconfig("alice"), "stop", "-n", teamNS, "long-one"); code != 0 {
				t.Fatalf("stop: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			got = waitTaskFinal(ctx, t, c, task)
			if cond := succeeded(got); got.Status.Phase != v1alpha1.TaskPhaseFailed || cond.Reason != v1alpha1.ReasonStopped || !strings.Contains(cond.Message, "kept for its logs") {
				t.Errorf("Task ended %s with %s (%s), want Failed, Stopped, Pod kept", got.Status.Phase, cond.Reason, cond.Message)
			}
			kept := &corev1.Pod{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(pod), kept); err != nil || kept.UID != pod.UID || kept.DeletionTimestamp != nil {
				t.Fatalf("the stopped Task's Pod was not kept: %v", err)
			}
			if kept.Status.Phase != corev1.PodFailed || kept.Status.Reason != "DeadlineExceeded" {
				t.Errorf("the kept Pod is %s (%s), want Failed by the kubelet (DeadlineExceeded)", kept.Status.Phase, kept.Status.Reason)
			}
			code, out, errOut = run(t, kubeconfig("alice"), "logs", "-n", teamNS, "long-one", "--log-server", logURL, "--log-server-ca", caFile)
			if code != 0 || !strings.Contains(out, "{") {
				t.Errorf("logs after stop: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			return ctx
		}).
		Assess("mallory gets 403 for alice's Task; a status forged to name alice's Pod gets her nothing", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			code, out, errOut := run(t, kubeconfig("mallory"), "logs", "-n", teamNS, "fix-it", "--log-server", logURL, "--log-server-ca", caFile)
			if code != 1 || out != "" || !strings.Contains(errOut, `is forbidden: User "system:serviceaccount:`+malloryNS+`:mallory" cannot get resource "tasks/log"`) {
				t.Errorf("mallory logs alice's Task: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			c := adminClient(cfg)
			alices := waitTaskFinal(ctx, t, c, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: teamNS, Name: "fix-it"}})
			// A Task in mallory's namespace that names an Agent that does not exist in the Agent
			// namespace (created by the admin: the admission policy would refuse mallory) never
			// gets a Pod. Its status is then forged (as any status writer could) to name alice's
			// Pod, in the same namespace.
			mine := newTask(malloryNS, "decoy", agentsNS, "no-such-agent")
			if err := c.Create(ctx, mine); err != nil {
				t.Fatal(err)
			}
			got := waitTaskFinal(ctx, t, c, mine)
			got.Status.PodName, got.Status.PodNamespace = alices.Status.PodName, alices.Status.PodNamespace
			got.Status.AgentRef = &v1alpha1.AgentReference{Namespace: agentsNS, Name: "coder"}
			if err := c.Status().Update(ctx, got); err != nil {
				t.Fatal(err)
			}
			code, out, errOut = run(t, kubeconfig("mallory"), "logs", "-n", malloryNS, "decoy", "--log-server", logURL, "--log-server-ca", caFile)
			if code != 1 || out != "" || !strings.Contains(errOut, "has no agent Pod") {
				t.Errorf("mallory logs her forged Task: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// writeSelfSigned writes a self-signed serving certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubeopencode-log-server"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
