package examples

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/credentials/stage"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

// agents decodes every example Agent.
func agents(t *testing.T) []*v1alpha1.Agent {
	t.Helper()
	var out []*v1alpha1.Agent
	for _, d := range byKind(docs, "Agent") {
		a := &v1alpha1.Agent{}
		if err := d.decode(a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		t.Fatal("no example Agents")
	}
	return out
}

// agentPod builds the Pod a Task of the Agent runs in, composing podspec and credentials the way
// the operator does (contexts and the task file left out), so each example Agent is checked
// against the libraries and not only against the CRD.
func agentPod(a *v1alpha1.Agent) (*corev1.Pod, error) {
	var creds []credentials.Credential
	for _, c := range a.Spec.Credentials {
		cred := credentials.Credential{Name: c.Name, SecretName: c.SecretRef.Name, Key: c.SecretRef.Key, Env: c.Env, MountPath: string(c.MountPath)}
		if c.FileMode != nil {
			cred.FileMode = new(int32(*c.FileMode))
		}
		creds = append(creds, cred)
	}
	proj, err := credentials.Project(creds, credentials.Options{StagingImage: "example.com/stage-credentials:v1", StagingCommand: []string{"/stage-credentials"}})
	if err != nil {
		return nil, err
	}
	spec := podspec.Spec{
		Identity:           podspec.Identity{OwnerUID: "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11", OwnerName: "example", OwnerNamespace: "prod-web", GroupName: a.Name},
		Namespace:          a.Namespace,
		AgentImage:         a.Spec.AgentImage,
		ExecutorImage:      a.Spec.ExecutorImage,
		WorkspaceDir:       string(a.Spec.WorkspaceDir),
		Command:            []string{"/tools/opencode", "run"},
		ServiceAccountName: a.Spec.ServiceAccountName,
		Projections:        []podspec.Projection{proj},
	}
	if ps := a.Spec.PodSpec; ps != nil {
		spec.RuntimeClassName = ps.RuntimeClassName
		spec.Labels = map[string]string{}
		for k, v := range ps.Labels {
			spec.Labels[k] = string(v)
		}
	}
	return podspec.Build(spec)
}

// TestExampleAgentsBuildRestrictedPods: every example Agent yields a Pod that the libraries
// accept and that passes Pod Security "restricted" (threat T8).
func TestExampleAgentsBuildRestrictedPods(t *testing.T) {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents(t) {
		pod, err := agentPod(a)
		if err != nil {
			t.Errorf("Agent %s/%s: %v", a.Namespace, a.Name, err)
			continue
		}
		if v := judge.Judge(pod); !v.Allowed {
			t.Errorf("Agent %s/%s: %s", a.Namespace, a.Name, v.Message())
		}
	}
}

// TestAgentsReceiveTheirCredentials: what each example Agent's process receives, as the
// credentials library projects it: environment variables from a Secret key, and files staged
// with their exact mode (0400 for keys; threats T9, T10).
func TestAgentsReceiveTheirCredentials(t *testing.T) {
	want := map[string][]string{
		"agents-restricted/restricted-agent": nil,
		"platform-agents/credentials-agent": {
			"env GITHUB_TOKEN from github-token/token",
			"file /home/agent/.ssh/id_ed25519 mode 0400 from deploy-key/id_ed25519",
		},
		"platform-agents/git-agent": {
			"file /home/agent/.ssh/id_ed25519 mode 0400 from git-ssh/ssh-privatekey",
			"file /home/agent/.ssh/known_hosts mode 0400 from git-ssh/known_hosts",
		},
		"platform-agents/isolated-agent":   nil,
		"platform-agents/production-agent": {"env MODEL_API_KEY from production-model-api/api-key"},
		"platform-agents/secure-agent": {
			"env API_KEY from my-secrets/api-key",
			"file /home/agent/.ssh/id_rsa mode 0400 from ssh-keys/id_rsa",
		},
	}
	got := map[string][]string{}
	for _, a := range agents(t) {
		pod, err := agentPod(a)
		if err != nil {
			t.Fatalf("Agent %s/%s: %v", a.Namespace, a.Name, err)
		}
		got[a.Namespace+"/"+a.Name] = received(t, pod)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials received (-want +got):\n%s", diff)
	}
}

// received describes the agent container's credentials.
func received(t *testing.T, pod *corev1.Pod) []string {
	t.Helper()
	secretOf := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			secretOf[v.Name] = v.Secret.SecretName
		}
	}
	staged := map[string]stage.Item{} // by subPath in the staged volume
	for _, c := range pod.Spec.InitContainers {
		for _, e := range c.Env {
			if c.Name != credentials.StagingContainerName || e.Name != stage.ManifestEnv {
				continue
			}
			m, err := stage.ParseManifest([]byte(e.Value))
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range m.Items {
				staged[it.Dir+"/"+it.Key] = it
			}
		}
	}
	var out []string
	for _, c := range pod.Spec.Containers {
		if c.Name != podspec.AgentContainerName {
			continue
		}
		for _, e := range c.Env {
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
				out = append(out, fmt.Sprintf("env %s from %s/%s", e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key))
			}
		}
		for _, m := range c.VolumeMounts {
			if m.Name != credentials.StagedVolumeName {
				continue
			}
			it, ok := staged[m.SubPath]
			if !ok || !m.ReadOnly {
				t.Fatalf("mount %s: not a read-only staged credential file (%+v)", m.MountPath, m)
			}
			out = append(out, fmt.Sprintf("file %s mode %04o from %s/%s", m.MountPath, it.Mode, secretOf[it.Volume], it.Key))
		}
	}
	slices.Sort(out)
	return out
}

// TestNetworkPoliciesSelectTheirAgentsPods: each example NetworkPolicy selects the Pods of the
// Agent it is written for, as podspec labels them, and no other Agent's (threat T17).
func TestNetworkPoliciesSelectTheirAgentsPods(t *testing.T) {
	want := map[string][]string{
		"platform-agents/agent-restricted-egress": {"secure-agent"},
		"platform-agents/isolated-agent-egress":   {"isolated-agent"},
	}
	got := map[string][]string{}
	for _, d := range byKind(docs, "NetworkPolicy") {
		np := &networkingv1.NetworkPolicy{}
		if err := d.decode(np); err != nil {
			t.Fatal(err)
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		key := np.Namespace + "/" + np.Name
		got[key] = []string{}
		for _, a := range agents(t) {
			pod, err := agentPod(a)
			if err != nil {
				t.Fatal(err)
			}
			if pod.Namespace == np.Namespace && sel.Matches(labels.Set(pod.Labels)) {
				got[key] = append(got[key], a.Name)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Agents whose Pods each NetworkPolicy selects (-want +got):\n%s", diff)
	}
}

// TestProductionAgentInvitesOnlyProductionAndStaging: which namespaces production-agent's
// allowedNamespaces ["prod-*", "staging"] lets send Tasks (threat T1), as the operator decides.
func TestProductionAgentInvitesOnlyProductionAndStaging(t *testing.T) {
	var agent *v1alpha1.Agent
	for _, a := range agents(t) {
		if a.Name == "production-agent" {
			agent = a
		}
	}
	if agent == nil {
		t.Fatal("no production-agent example")
	}
	p := policy.NewNamespacePolicy(agent.Namespace, agent.Name, agent.Spec.AllowedNamespaces)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	for ns, want := range map[string]policy.Reason{
		"prod-web":        policy.ReasonAllowedByPattern,
		"prod-api":        policy.ReasonAllowedByPattern,
		"staging":         policy.ReasonAllowedByPattern,
		"platform-agents": policy.ReasonAllowedSameNamespace,
		"production":      policy.ReasonNamespaceNotAllowed,
		"prod":            policy.ReasonNamespaceNotAllowed,
		"staging-2":       policy.ReasonNamespaceNotAllowed,
		"dev-web":         policy.ReasonNamespaceNotAllowed,
		"team-prod-web":   policy.ReasonNamespaceNotAllowed,
	} {
		if got := p.Decide(ns); got.Reason != want {
			t.Errorf("Task in %s: got %s (%s), want %s", ns, got.Reason, got.Message, want)
		}
	}
}
