//go:build e2e

package tests

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// What examples/secure-agent and examples/common name, and what the test bed adds.
const (
	platformNS = "platform-agents"
	// runtimeClassName replaces the example's gVisor RuntimeClass: the real node has runc only,
	// under containerd's handler name "runc".
	runtimeClassName = "e2e-runc"
	runcHandler      = "runc"
	sshKeyPath       = "/home/agent/.ssh/id_rsa"
	apiKeyEnv        = "API_KEY"
	agentUID         = 65532
	noCapabilities   = "0000000000000000"
)

// secureAgent is examples/secure-agent installed for the test bed: the example's Agent (its
// credentials, podSpec labels, allowedNamespaces, workspace and ServiceAccount untouched) with
// the test images, the probe as its command and the runc RuntimeClass; a copy whose agent exits
// 3; the example's Secrets with fresh values; the example's Task as a template.
type secureAgent struct {
	apiKey, sshKey  string
	agent, failing  *v1alpha1.Agent
	task            *v1alpha1.Task
	workspaceTaskMD string
}

// probeCommand runs the probe installed as the agent binary: it reports what the agent
// container sees, then exits with code.
func probeCommand(code int, files []string, envs []string) []string {
	cmd := []string{agentBinary, "report"}
	for _, f := range files {
		cmd = append(cmd, "-file", f)
	}
	for _, e := range envs {
		cmd = append(cmd, "-env", e)
	}
	return append(cmd, "-exit-code", strconv.Itoa(code))
}

func setupSecureAgent(ctx context.Context, t *testing.T, cfg *envconf.Config) *secureAgent {
	t.Helper()
	c := adminClient(cfg)
	applyExample(ctx, t, c, "common/namespaces.yaml")
	applyExample(ctx, t, c, "common/agent-rbac.yaml")
	if err := framework.Apply(ctx, c, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: runtimeClassName}, Handler: runcHandler}); err != nil {
		t.Fatal(err)
	}
	s := &secureAgent{
		apiKey: "e2e-api-key-" + rand.String(16),
		sshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\ne2e-" + rand.String(32) + "\n-----END OPENSSH PRIVATE KEY-----\n",
	}
	for _, o := range exampleObjects(t, "secure-agent/secrets.yaml") {
		secret := o.(*corev1.Secret)
		switch secret.Name {
		case "my-secrets":
			secret.StringData = map[string]string{"api-key": s.apiKey}
		case "ssh-keys":
			secret.StringData = map[string]string{"id_rsa": s.sshKey}
		default:
			t.Fatalf("examples/secure-agent/secrets.yaml has an unexpected Secret %q", secret.Name)
		}
		if err := framework.Apply(ctx, c, secret); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ignoreNotFound(c.Delete(context.Background(), secret)) })
	}
	s.agent = exampleOf[*v1alpha1.Agent](t, "secure-agent/secure-agent.yaml")
	s.workspaceTaskMD = string(s.agent.Spec.WorkspaceDir) + "/" + v1alpha1.TaskFileName
	s.agent.Spec.AgentImage, s.agent.Spec.ExecutorImage = agentImage, probeImage
	s.agent.Spec.PodSpec.RuntimeClassName = runtimeClassName
	files, envs := []string{sshKeyPath, s.workspaceTaskMD}, []string{apiKeyEnv}
	s.agent.Spec.Command = probeCommand(0, files, envs)
	s.failing = s.agent.DeepCopy()
	s.failing.Name += "-exit3"
	s.failing.Spec.Command = probeCommand(3, files, envs)
	createAgent(ctx, t, c, s.agent)
	createAgent(ctx, t, c, s.failing)
	s.task = exampleOf[*v1alpha1.Task](t, "secure-agent/secure-agent.yaml")
	return s
}

// newTask is the example's Task (from prod-web) with a fresh name, for agent.
func (s *secureAgent) newTask(agent *v1alpha1.Agent) *v1alpha1.Task {
	task := s.task.DeepCopy()
	task.Name = envconf.RandomName(task.Name, len(task.Name)+6)
	task.Spec.AgentRef = v1alpha1.AgentReference{Name: agent.Name, Namespace: agent.Namespace}
	return task
}

// assertSecureRun waits for the Task to end and checks, from the API and from inside the agent
// container, everything scenario 1 promises.
func (s *secureAgent) assertSecureRun(ctx context.Context, t *testing.T, cfg *envconf.Config, task *v1alpha1.Task, wantExit int32) {
	t.Helper()
	c := adminClient(cfg)
	got := waitTaskFinal(ctx, t, c, task)
	pod := taskPod(ctx, t, c, platformNS, got)
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: pod.Namespace}, ns); err != nil {
		t.Fatal(err)
	}
	cond := succeeded(got)
	type where struct {
		Namespace, Enforce, RuntimeClass, PolicyLabel string
		RealNode                                      bool
		Exit                                          int32
		Phase                                         v1alpha1.TaskPhase
		Succeeded                                     metav1.ConditionStatus
		Reason                                        string
	}
	wantPhase, wantStatus, wantReason := v1alpha1.TaskPhaseCompleted, metav1.ConditionTrue, v1alpha1.ReasonAgentSucceeded
	if wantExit != 0 {
		wantPhase, wantStatus, wantReason = v1alpha1.TaskPhaseFailed, metav1.ConditionFalse, v1alpha1.ReasonAgentFailed
	}
	if d := cmp.Diff(where{
		Namespace: platformNS, Enforce: "restricted", RuntimeClass: runtimeClassName, PolicyLabel: "agent-restricted",
		RealNode: true, Exit: wantExit, Phase: wantPhase, Succeeded: wantStatus, Reason: wantReason,
	}, where{
		Namespace: pod.Namespace, Enforce: ns.Labels["pod-security.kubernetes.io/enforce"],
		RuntimeClass: ptrValue(pod.Spec.RuntimeClassName), PolicyLabel: pod.Labels["network-policy"],
		RealNode: pod.Spec.NodeName != "" && pod.Spec.NodeName != kwokNode,
		Exit:     containerExit(pod, podspec.AgentContainerName), Phase: got.Status.Phase, Succeeded: cond.Status, Reason: cond.Reason,
	}); d != "" {
		t.Errorf("where and how the Task ran (-want +got):\n%s\ncondition message: %s", d, cond.Message)
	}
	if wantExit != 0 && !strings.Contains(cond.Message, "exited with status "+strconv.Itoa(int(wantExit))) {
		t.Errorf("Succeeded condition message %q does not give the agent's exit status %d", cond.Message, wantExit)
	}
	// The agent container mounts no Secret volume: the kubelet's copy (mode from the Secret
	// volume) stays with the staging init container; the agent sees only the staged file.
	secretVolumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil || v.Projected != nil {
			secretVolumes[v.Name] = true
		}
	}
	for _, ctr := range pod.Spec.Containers {
		for _, m := range ctr.VolumeMounts {
			if secretVolumes[m.Name] {
				t.Errorf("container %q mounts Secret volume %q at %s", ctr.Name, m.Name, m.MountPath)
			}
		}
	}

	rep := readReport(ctx, t, cfg, pod.Namespace, pod.Name, podspec.AgentContainerName)
	type file struct {
		Exists, Readable bool
		Mode             string
		UID              int
		Size             int64
	}
	type inside struct {
		UID                              int
		CapEff, CapPrm, CapBnd           string
		NoNewPrivs, Seccomp              string
		RootFSWritable, ServiceAcctToken bool
		APIKey                           bool
		Key                              file
		TaskMDReadable                   bool
		TaskMDSize                       int64
	}
	key := rep.Files[sshKeyPath]
	if d := cmp.Diff(inside{
		UID: agentUID, CapEff: noCapabilities, CapPrm: noCapabilities, CapBnd: noCapabilities,
		NoNewPrivs: "1", Seccomp: "2", APIKey: true,
		Key:            file{Exists: true, Readable: true, Mode: "0400", UID: agentUID, Size: int64(len(s.sshKey))},
		TaskMDReadable: true, TaskMDSize: int64(len(got.Spec.Description)),
	}, inside{
		UID: rep.UID, CapEff: rep.Status["CapEff"], CapPrm: rep.Status["CapPrm"], CapBnd: rep.Status["CapBnd"],
		NoNewPrivs: rep.Status["NoNewPrivs"], Seccomp: rep.Status["Seccomp"],
		RootFSWritable: rep.RootFSWritable, ServiceAcctToken: rep.ServiceAccountToken, APIKey: rep.Env[apiKeyEnv],
		Key:            file{Exists: key.Exists, Readable: key.Readable, Mode: key.Mode, UID: key.UID, Size: key.Size},
		TaskMDReadable: rep.Files[s.workspaceTaskMD].Readable, TaskMDSize: rep.Files[s.workspaceTaskMD].Size,
	}); d != "" {
		t.Errorf("what the agent container saw (-want +got):\n%s\nreport: %+v", d, rep)
	}
	if rep.UID == 0 {
		t.Error("the agent ran as root")
	}
}

func ptrValue(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// waitAgentReady waits until the operator reports the Agent Ready=True.
func waitAgentReady(ctx context.Context, t *testing.T, c client.Client, agent *v1alpha1.Agent) {
	t.Helper()
	waitFor(ctx, t, "Agent "+agent.Namespace+"/"+agent.Name+" Ready", taskTimeout, func(ctx context.Context) (bool, error) {
		got := &v1alpha1.Agent{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(agent), got); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady), nil
	})
}

// TestSecureAgent is scenario 1: the seed example secure-agent, its Task from prod-web running on
// the real node in platform-agents (Pod Security "restricted" enforced), read from inside the
// agent container (T8, T9). The Task ends from the container's real exit code.
//
// "Readable by no other UID" (T9): the key is mode 0400 and owned by the agent's UID, every
// container of the Pod runs as that UID with no capability at all (CapEff, CapPrm and CapBnd
// zero, so not even a setuid binary could gain CAP_DAC_OVERRIDE, and NoNewPrivs forbids that
// anyway), and the file lives in the Pod's own memory-backed emptyDir, which no other Pod can
// mount; the kubelet's Secret volume is mounted only in the staging init container.
func TestSecureAgent(t *testing.T) {
	logOperatorOnFailure(t)
	var s *secureAgent
	var ok, fails *v1alpha1.Task
	f := features.New("scenario 1: seed example secure-agent on the real node").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s = setupSecureAgent(ctx, t, cfg)
			ok, fails = s.newTask(s.agent), s.newTask(s.failing)
			createTask(ctx, t, cfg, adminClient(cfg), ok)
			createTask(ctx, t, cfg, adminClient(cfg), fails)
			return ctx
		}).
		Assess("the operator reports the example Agent Ready", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			waitAgentReady(ctx, t, adminClient(cfg), s.agent)
			return ctx
		}).
		Assess("a Task from prod-web runs hardened in restricted platform-agents and ends Completed from exit code 0", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s.assertSecureRun(ctx, t, cfg, ok, 0)
			return ctx
		}).
		Assess("a Task whose agent exits 3 ends Failed with reason AgentFailed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			s.assertSecureRun(ctx, t, cfg, fails, 3)
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
