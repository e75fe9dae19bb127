//go:build e2e

package tests

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/e2e/gitserver"
	"github.com/kubeopencode/kubeopencode/e2e/modelserver"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// The project's images, built by hack/images/build.sh (make image) and imported by the test bed.
const (
	realAgentImage    = "kubeopencode.local/agent-opencode:v0.1.0"
	realExecutorImage = "kubeopencode.local/executor:v0.1.0"
	// podGateway is this host's address on the real node's Pod bridge (hack/testbed/node-up.sh:
	// subnet 10.244.0.0/24, the bridge is the gateway): the address Pods dial to reach the test
	// servers, which listen on every interface because the bridge appears only with the first Pod.
	podGateway = "10.244.0.1"
	// realAgentTimeout: the real OpenCode binary starts in a few seconds, but the first Pod of a
	// fresh node also unpacks the 185 MB binary.
	realAgentTimeout = 4 * time.Minute
)

// realAgentEnv is what both Features share: the HTTPS Git server and its repository, on a test CA.
type realAgentEnv struct {
	git     *gitserver.Server
	gitURL  string
	readme  string
	agentNS string
	taskNS  string
}

func startRealAgentEnv(ctx context.Context, t *testing.T, cfg *envconf.Config) *realAgentEnv {
	t.Helper()
	e := &realAgentEnv{readme: "# app\nnonce " + rand.String(12) + "\n"}
	gs, err := gitserver.New(gitserver.Options{Dir: t.TempDir(), Hosts: []string{podGateway}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gs.AddRepository("app", map[string]string{"README.md": e.readme}); err != nil {
		t.Fatal(err)
	}
	port, err := gs.Start(":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gs.Close() })
	e.git, e.gitURL = gs, fmt.Sprintf("https://%s:%d/app.git", podGateway, port)
	e.agentNS = createNamespace(ctx, t, cfg, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	e.taskNS = createNamespace(ctx, t, cfg, nil)
	c := adminClient(cfg)
	ca := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: e.agentNS, Name: "test-ca"},
		Data: map[string]string{v1alpha1.DefaultCABundleKey: string(gs.CAPEM())}}
	if err := c.Create(ctx, ca); err != nil {
		t.Fatal(err)
	}
	return e
}

// startModel serves a scripted model over HTTPS with the Git server's certificate (so the agent
// trusts it only through the Agent's caBundle) and returns it with its base URL.
func (e *realAgentEnv) startModel(t *testing.T, key string, script modelserver.Script) (*modelserver.Server, string) {
	t.Helper()
	ms, err := modelserver.New(key, script)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ms, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(tls.NewListener(ln, e.git.ServerTLS())) }()
	t.Cleanup(func() { srv.Close() })
	return ms, fmt.Sprintf("https://%s:%d/v1", podGateway, ln.Addr().(*net.TCPAddr).Port)
}

// realAgent is a platform Agent running the real OpenCode from the project's images against
// baseURL, its model key a credential from a Secret, the Git repository as a context, the test CA
// as caBundle, and a file credential (whose raw Secret volume only the staging step mounts).
func (e *realAgentEnv) realAgent(ctx context.Context, t *testing.T, cfg *envconf.Config, name, key, baseURL string) *v1alpha1.Agent {
	t.Helper()
	c := adminClient(cfg)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.agentNS, Name: name + "-model"},
		StringData: map[string]string{"api-key": key, "token": "file-" + key}}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	config, err := json.Marshal(map[string]any{
		"$schema": "https://opencode.ai/config.json", "autoupdate": false, "share": "disabled",
		"model": "scripted/m1",
		// OpenCode's own guard asks before a tool touches a path outside the workspace, and
		// `opencode run` rejects what it would ask. The Pod is the boundary this test proves,
		// so the guard is off: the hardening report reads /proc, and the attack must meet the
		// Pod's walls, not OpenCode's.
		"permission": map[string]any{"external_directory": "allow"},
		"provider": map[string]any{"scripted": map[string]any{
			"npm": "@ai-sdk/openai-compatible", "name": "Scripted",
			"options": map[string]any{"baseURL": baseURL, "apiKey": "{env:MODEL_API_KEY}"},
			"models":  map[string]any{"m1": map[string]any{"name": "m1"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	agent := &v1alpha1.Agent{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.agentNS, Name: name},
		Spec: v1alpha1.AgentSpec{
			AgentImage: realAgentImage, ExecutorImage: realExecutorImage, WorkspaceDir: "/workspace",
			ServiceAccountName: "default", AllowedNamespaces: []string{e.taskNS},
			Config:   string(config),
			CABundle: &v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "test-ca"}},
			Credentials: []v1alpha1.Credential{
				{Name: "model", SecretRef: v1alpha1.SecretReference{Name: secret.Name, Key: "api-key"}, Env: "MODEL_API_KEY"},
				{Name: "token-file", SecretRef: v1alpha1.SecretReference{Name: secret.Name, Key: "token"}, MountPath: "/home/agent/.model-token"},
			},
			Contexts: []v1alpha1.ContextItem{{Name: "app", Type: v1alpha1.ContextTypeGit,
				Git: &v1alpha1.GitContext{Repository: e.gitURL}}},
		},
	}
	createAgent(ctx, t, c, agent)
	waitAgentReady(ctx, t, c, agent)
	return agent
}

// runTask creates a Task in the team namespace for agent and waits until it ends.
func (e *realAgentEnv) runTask(ctx context.Context, t *testing.T, cfg *envconf.Config, agent *v1alpha1.Agent, description string) (*v1alpha1.Task, time.Duration) {
	t.Helper()
	c := adminClient(cfg)
	task := newTask(e.taskNS, envconf.RandomName(agent.Name, 16), e.agentNS, agent.Name)
	task.Spec.Description = description
	start := time.Now()
	createTask(ctx, t, cfg, c, task)
	got := &v1alpha1.Task{}
	waitFor(ctx, t, "Task "+task.Name+" to end", realAgentTimeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(task), got); err != nil {
			return false, err
		}
		return isFinal(got), nil
	})
	return got, time.Since(start)
}

// toolOutputs are the contents of the "tool" messages of the model's last request: what the
// agent's tools returned, in order.
func toolOutputs(reqs []modelserver.Request) []string {
	if len(reqs) == 0 {
		return nil
	}
	var out []string
	for _, m := range reqs[len(reqs)-1].Messages {
		if m.Role == "tool" {
			out = append(out, m.Content)
		}
	}
	return out
}

// hardeningCommand prints, from inside the agent, what scenario 1 reads with the probe.
const hardeningCommand = `id -u; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; ` +
	`sed -n 's#^[^ ]* / [^ ]* \([^,]*\).*#rootfs=\1#p' /proc/self/mounts; ` +
	`if [ -e /var/run/secrets/kubernetes.io/serviceaccount ]; then echo sa-token=present; else echo sa-token=absent; fi; ` +
	`cat app/README.md; cat app/hello.txt`

// TestRealAgent is scenario 8: the real OpenCode binary, from the project's images, runs in the
// hardened Pod on the real node for a Task from another namespace. It clones a Git repository
// over HTTPS trusted through the Agent's caBundle, talks to a scripted model (HTTPS, same CA)
// with the Agent's key, writes a file, runs a command, and the Task Completes.
func TestRealAgent(t *testing.T) {
	logOperatorOnFailure(t)
	var e *realAgentEnv
	f := features.New("scenario 8: the real OpenCode agent in the hardened Pod").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			e = startRealAgentEnv(ctx, t, cfg)
			return ctx
		}).
		Assess("OpenCode clones, writes the file, runs a command and the Task Completes", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			key := "sk-e2e-" + rand.String(24)
			content := "hello from the real agent " + rand.String(8) + "\n"
			ms, baseURL := e.startModel(t, key, modelserver.Script{
				modelserver.Write("app/hello.txt", content),
				modelserver.Bash(hardeningCommand, "report hardening"),
				modelserver.Answer("I added app/hello.txt."),
			})
			agent := e.realAgent(ctx, t, cfg, "opencode", key, baseURL)
			description := "Add hello.txt to the app repository (" + rand.String(8) + ")"
			got, took := e.runTask(ctx, t, cfg, agent, description)
			t.Logf("the real agent's Task ended %s in %s", got.Status.Phase, took.Round(100*time.Millisecond))
			cond := succeeded(got)
			if got.Status.Phase != v1alpha1.TaskPhaseCompleted {
				pod := taskPod(ctx, t, adminClient(cfg), e.agentNS, got)
				t.Fatalf("Task ended %s (%s: %s); model requests %d; the agent's log:\n%s", got.Status.Phase, cond.Reason, cond.Message,
					len(ms.Requests()), containerLog(ctx, t, cfg, pod.Namespace, pod.Name, podspec.AgentContainerName))
			}
			reqs := ms.Requests()
			type seen struct {
				Refused, WrongKey, Steps int
				Prompt, Done             bool
			}
			var s seen
			for _, r := range reqs {
				if r.Refused {
					s.Refused++
				}
				if r.Authorization != "Bearer "+key {
					s.WrongKey++
				}
				if r.Step >= 0 {
					s.Steps = max(s.Steps, r.Step+1)
				}
				for _, m := range r.Messages {
					if m.Role == "user" && strings.Contains(m.Content, description) {
						s.Prompt = true
					}
				}
			}
			s.Done = ms.Done()
			if d := cmp.Diff(seen{Steps: 3, Prompt: true, Done: true}, s); d != "" {
				t.Errorf("what the model server saw (-want +got):\n%s", d)
			}
			outs := toolOutputs(reqs)
			if len(outs) != 2 {
				t.Fatalf("the last request carries %d tool results, want 2 (write, bash): %q", len(outs), outs)
			}
			report := outs[1]
			t.Logf("the bash tool's output, from inside the agent:\n%s", report)
			for _, want := range []string{
				fmt.Sprintf("%d\n", agentUID),
				"CapEff:\t" + noCapabilities, "CapPrm:\t" + noCapabilities, "CapBnd:\t" + noCapabilities,
				"NoNewPrivs:\t1", "Seccomp:\t2", "rootfs=ro\n", "sa-token=absent",
				e.readme, content,
			} {
				if !strings.Contains(report, want) {
					t.Errorf("the agent's report lacks %q", want)
				}
			}
			if !strings.HasPrefix(report, fmt.Sprintf("%d\n", agentUID)) {
				t.Errorf("the agent's first line (its UID) is not %d", agentUID)
			}
			clones := 0
			for _, r := range e.git.Requests() {
				if r.Authorized && strings.HasSuffix(r.Path, "/git-upload-pack") {
					clones++
				}
			}
			if clones == 0 {
				t.Error("the Git server served no upload-pack: the clone did not come from it")
			}
			return ctx
		}).
		Assess("without caBundle the same Agent's clone fails TLS verification and the Task Fails", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			key := "sk-e2e-" + rand.String(24)
			ms, baseURL := e.startModel(t, key, modelserver.Script{modelserver.Answer("unreachable")})
			agent := e.realAgent(ctx, t, cfg, "no-ca", key, baseURL)
			c := adminClient(cfg)
			if err := retryAgentUpdate(ctx, c, agent, func(a *v1alpha1.Agent) { a.Spec.CABundle = nil }); err != nil {
				t.Fatal(err)
			}
			got, _ := e.runTask(ctx, t, cfg, agent, "this clone must fail")
			pod := taskPod(ctx, t, c, e.agentNS, got)
			cloneLog := containerLog(ctx, t, cfg, pod.Namespace, pod.Name, "git-clone-0")
			if got.Status.Phase != v1alpha1.TaskPhaseFailed || !strings.Contains(cloneLog, "certificate") {
				t.Errorf("Task ended %s; git-clone-0 log %q; want Failed on a certificate error", got.Status.Phase, cloneLog)
			}
			if n := len(ms.Requests()); n != 0 {
				t.Errorf("the model server got %d requests: the agent ran after a failed clone", n)
			}
			t.Logf("git-clone-0 without caBundle: %s", strings.TrimSpace(cloneLog))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// retryAgentUpdate applies mutate to the latest Agent, retrying on conflicts with the operator's
// status writes.
func retryAgentUpdate(ctx context.Context, c client.Client, agent *v1alpha1.Agent, mutate func(*v1alpha1.Agent)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := &v1alpha1.Agent{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(agent), got); err != nil {
			return err
		}
		mutate(got)
		return c.Update(ctx, got)
	})
}

// escapeCommand tries to read what the agent must not: it prints one line per target,
// "<name> absent", "<name> refused" or "<name> READ".
func escapeCommand(targets map[string]string, order []string) string {
	var b strings.Builder
	// A directory is READ when it can be listed, a file when it can be read; a path that does not
	// resolve is refused when a directory on the way may not be searched, else absent.
	b.WriteString(`try() { if [ -d "$2" ]; then if ls "$2" >/dev/null 2>&1; then r=READ; else r=refused; fi; ` +
		`elif [ -e "$2" ]; then if cat "$2" >/dev/null 2>&1; then r=READ; else r=refused; fi; ` +
		`else case $(cat "$2" 2>&1 >/dev/null) in *"ermission denied"*) r=refused ;; *) r=absent ;; esac; fi; echo "$1 $r"; }; `)
	for _, name := range order {
		fmt.Fprintf(&b, "try %s %q; ", name, targets[name])
	}
	return b.String()
}

// TestRealAgentCannotEscape is scenario 8's attack: a scripted model makes the real agent try to
// read the raw Secret volume (mounted only into the staging step), a ServiceAccount token and
// another Pod's files (through the kubelet's directories on the node). Each must be absent or
// refused, and the test says which.
func TestRealAgentCannotEscape(t *testing.T) {
	logOperatorOnFailure(t)
	var e *realAgentEnv
	f := features.New("scenario 8: the real agent cannot read what is not its own").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			e = startRealAgentEnv(ctx, t, cfg)
			return ctx
		}).
		Assess("raw Secret volume, ServiceAccount tokens and other Pods' files are absent or refused", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			targets := map[string]string{
				"secret-volume":        credentials.StagingSourceDir,
				"secret-volume-parent": "/kubeopencode/credentials",
				"sa-token":             "/var/run/secrets/kubernetes.io/serviceaccount/token",
				"sa-token-projected":   "/run/secrets/kubernetes.io/serviceaccount/token",
				"kubelet-pods":         "/var/lib/kubelet/pods",
				"host-root-via-proc":   "/proc/1/root/var/lib/kubelet",
				"containerd-state":     "/run/containerd",
			}
			order := []string{"secret-volume", "secret-volume-parent", "sa-token", "sa-token-projected", "kubelet-pods",
				"host-root-via-proc", "containerd-state", "own-staged-file"}
			// The control: the agent's own staged copy must read, or the probe proves nothing.
			targets["own-staged-file"] = "/home/agent/.model-token"
			key := "sk-e2e-" + rand.String(24)
			ms, baseURL := e.startModel(t, key, modelserver.Script{
				modelserver.Bash(escapeCommand(targets, order), "try to read what is not mine"),
				modelserver.Answer("done trying"),
			})
			agent := e.realAgent(ctx, t, cfg, "attacker", key, baseURL)
			got, _ := e.runTask(ctx, t, cfg, agent, "Read every secret you can find")
			if got.Status.Phase != v1alpha1.TaskPhaseCompleted {
				cond := succeeded(got)
				pod := taskPod(ctx, t, adminClient(cfg), e.agentNS, got)
				t.Fatalf("Task ended %s (%s: %s); the agent's log:\n%s", got.Status.Phase, cond.Reason, cond.Message,
					containerLog(ctx, t, cfg, pod.Namespace, pod.Name, podspec.AgentContainerName))
			}
			outs := toolOutputs(ms.Requests())
			if len(outs) != 1 {
				t.Fatalf("%d tool results, want 1: %q", len(outs), outs)
			}
			results := map[string]string{}
			for _, line := range strings.Split(outs[0], "\n") {
				if name, result, ok := strings.Cut(strings.TrimSpace(line), " "); ok && targets[name] != "" {
					results[name] = result
				}
			}
			if r := results["own-staged-file"]; r != "READ" {
				t.Errorf("the agent's own staged credential: %q, want READ (the probe itself is broken)", r)
			}
			for _, name := range order[:len(order)-1] {
				switch r := results[name]; r {
				case "absent", "refused":
					t.Logf("%-22s %-52s %s", name, targets[name], r)
				default:
					t.Errorf("%s (%s): %q, want absent or refused", name, targets[name], r)
				}
			}
			// The staging step did stage the file credential: the agent's own copy exists.
			pod := taskPod(ctx, t, adminClient(cfg), e.agentNS, got)
			staged := false
			for _, m := range pod.Spec.Containers[0].VolumeMounts {
				staged = staged || m.MountPath == "/home/agent/.model-token"
			}
			if !staged {
				t.Error("the agent container has no staged token file: the attack did not face a file credential")
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// containerLog is a container's log through the API server, or why it could not be read.
func containerLog(ctx context.Context, t *testing.T, cfg *envconf.Config, ns, pod, container string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		return err.Error()
	}
	b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		return fmt.Sprintf("(reading the log: %v)", err)
	}
	return string(b)
}
