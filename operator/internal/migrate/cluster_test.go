package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
)

// Substrings of the reasons, one per rule or change, so that the expectations below read as a
// table of verdicts.
const (
	rAllowedNS     = "upstream let Tasks of every namespace use the Agent"
	rPermission    = `no "permission" in spec.config`
	rToken         = "upstream left it to Kubernetes, so agent Pods got the token"
	rReservedEnv   = "is reserved: HOME, PATH"
	rNotStarted    = "ends Failed (AdmissionPoliciesMissing)"
	rRunning       = "ends Failed (PodMissing)"
	rAgentRef      = "Required value (upstream v0.0.3's CRD requires it too"
	rWholeSecret   = "a whole Secret as environment variables without envPrefix"
	rServerMode    = "Server mode is not supported"
	rMaxZero       = "upstream read 0 as no cap"
	rURLType       = `Unsupported value: supported values: "Text", "ConfigMap", "Git", "Runtime"`
	rURLDropped    = "URL contexts are not supported"
	rReservedPath  = "must not be, contain or lie under an operator-reserved path"
	rReservedLabel = "reserved for the operator"
	rGitSecret     = "git.secretRef is allowed only when the Task runs in its own namespace"
	rGlob          = "must be a namespace name or glob"
	rDropped       = "not in our schema"
	rConfigFile    = "upstream wrote spec.config to /tools/opencode.json"
	rGroupWrite    = "must not grant group or other write permission"
)

func f(kind, ns, name, path string, v Verdict, reason string) Finding {
	return Finding{Kind: kind, Namespace: ns, Name: name, Path: path, Verdict: v, Reason: reason}
}

// edgeCases are upstream-shaped objects that upstream's CRDs accepted and that probe our
// security rules: reserved names and paths, cross-namespace Secrets, label keys, and
// upstream-only status.
const edgeCases = `
apiVersion: kubeopencode.io/v1alpha1
kind: Agent
metadata: {name: shared, namespace: platform}
spec:
  workspaceDir: /workspace
  serviceAccountName: agent
  config: '{"permission": {"*": "allow"}}'
  command: ["sh", "-c", "OPENCODE_CONFIG=/tools/opencode.json /tools/opencode run \"$(cat $WORKSPACE_DIR/task.md)\""]
  credentials:
    - name: path
      secretRef: {name: s, key: p}
      env: PATH
    - name: sa-token
      secretRef: {name: s}
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
    - name: key
      secretRef: {name: s, key: k}
      mountPath: /home/agent/.ssh/id_rsa
      fileMode: 438
  podSpec:
    labels:
      kubeopencode.io/task-uid: forged
status:
  taskStartHistory:
    - {taskName: t, taskNamespace: platform, startTime: "2026-01-01T00:00:00Z"}
---
apiVersion: kubeopencode.io/v1alpha1
kind: Agent
metadata: {name: teams, namespace: platform}
spec:
  workspaceDir: /workspace
  serviceAccountName: agent
  config: '{"permission": {"*": "allow"}}'
  allowedNamespaces: ["Team-*"]
  contexts:
    - type: Runtime
      mountPath: /workspace/runtime.md
---
apiVersion: kubeopencode.io/v1alpha1
kind: Task
metadata: {name: borrow-secret, namespace: team-a}
spec:
  agentRef: {name: shared, namespace: platform}
  description: clone with my Secret in the platform namespace
  contexts:
    - type: Git
      mountPath: /workspace/src
      git: {repository: "https://example.com/r.git", ref: HEAD, depth: 1, secretRef: {name: my-git}}
---
apiVersion: kubeopencode.io/v1alpha1
kind: Task
metadata: {name: running, namespace: platform, finalizers: [kubeopencode.io/task-cleanup]}
spec:
  agentRef: {name: shared}
  description: running under upstream
  contexts:
    - type: Text
      text: notes
      mountPath: /etc/agent-notes.md
    - type: Text
      text: '{"permission": {"*": "allow"}}'
      mountPath: .opencode/opencode.json
`

// validForUs are objects that our CRDs accept and that mean the same under both: the negative
// control, which must give no findings.
const validForUs = `
apiVersion: kubeopencode.io/v1alpha1
kind: Agent
metadata: {name: ok, namespace: platform}
spec:
  profile: accepted by both
  workspaceDir: /workspace
  serviceAccountName: agent
  allowedNamespaces: ["team-*"]
  automountServiceAccountToken: false
  config: '{"model": "m", "permission": {"*": "allow"}}'
  maxConcurrentTasks: 2
  quota: {maxTaskStarts: 10, windowSeconds: 3600}
  credentials:
    - name: github
      secretRef: {name: gh, key: token}
      env: GITHUB_TOKEN
    - name: ssh
      secretRef: {name: ssh, key: id_rsa}
      mountPath: /home/agent/.ssh/id_rsa
      fileMode: 256
  contexts:
    - type: Text
      text: house rules
    - type: Git
      mountPath: /workspace/docs
      git: {repository: "https://example.com/docs.git", ref: HEAD, depth: 1}
  podSpec:
    labels: {network-policy: agent-restricted}
    runtimeClassName: gvisor
---
apiVersion: kubeopencode.io/v1alpha1
kind: Task
metadata: {name: done, namespace: team-a}
spec:
  agentRef: {name: ok, namespace: platform}
  description: finished under upstream
  contexts:
    - type: ConfigMap
      configMap: {name: notes, key: notes.md}
      mountPath: /workspace/notes.md
---
apiVersion: kubeopencode.io/v1alpha1
kind: Task
metadata: {name: failed, namespace: platform}
spec:
  agentRef: {name: ok}
  description: failed under upstream
---
apiVersion: kubeopencode.io/v1alpha1
kind: KubeOpenCodeConfig
metadata: {name: cluster}
spec:
  systemImage: {image: "quay.io/kubeopencode/kubeopencode:v0.0.3", imagePullPolicy: IfNotPresent}
  cleanup: {ttlSecondsAfterFinished: 3600, maxRetainedTasks: 100}
`

type checkCase struct {
	name   string
	docs   string
	phases map[string]string // "namespace/name" of a Task -> status.phase written by upstream
	want   []Finding         // sorted; Reason is a substring of the finding's reason
}

func checkCases(t testing.TB) []checkCase {
	const ks, sys = "kubeopencode-system", "kubeopencode-system"
	return []checkCase{{
		name: "README minimal example",
		docs: fixture(t, "readme"),
		want: []Finding{
			f(KindAgent, ks, "default", "spec.allowedNamespaces", Changed, rAllowedNS),
			f(KindAgent, ks, "default", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, ks, "default", "spec.config", Changed, rPermission),
			f(KindTask, ks, "my-task", "status.phase", Changed, rNotStarted),
		},
	}, {
		name:   "getting started: a Task without agentRef",
		docs:   fixture(t, "getting-started"),
		phases: map[string]string{sys + "/update-service-a": "Failed"},
		want: []Finding{
			f(KindAgent, ks, "default", "spec.allowedNamespaces", Changed, rAllowedNS),
			f(KindAgent, ks, "default", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, ks, "default", "spec.config", Changed, rPermission),
			f(KindTask, ks, "update-service-a", "spec.agentRef", Refused, rAgentRef),
		},
	}, {
		name:   "cross-namespace example: allowedNamespaces set, Task completed",
		docs:   fixture(t, "cross-namespace"),
		phases: map[string]string{"dev-team-a/fix-bug-123": "Completed"},
		want: []Finding{
			f(KindAgent, "platform-agents", "opencode-agent", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, "platform-agents", "opencode-agent", "spec.config", Changed, rPermission),
		},
	}, {
		name: "local-dev Agents: whole Secret as env, Server mode",
		docs: fixture(t, "local-dev"),
		want: []Finding{
			f(KindAgent, ks, "pod-agent", "spec.allowedNamespaces", Changed, rAllowedNS),
			f(KindAgent, ks, "pod-agent", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, ks, "pod-agent", "spec.config", Changed, rPermission),
			f(KindAgent, ks, "pod-agent", "spec.credentials[0]", Changed, rWholeSecret),
			f(KindAgent, ks, "server-agent", "spec.allowedNamespaces", Changed, rAllowedNS),
			f(KindAgent, ks, "server-agent", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, ks, "server-agent", "spec.config", Changed, rPermission),
			f(KindAgent, ks, "server-agent", "spec.credentials[0]", Changed, rWholeSecret),
			f(KindAgent, ks, "server-agent", "spec.serverConfig", Changed, rServerMode),
		},
	}, {
		// The relative mountPaths (.scripts, source-code) mean what they meant upstream:
		// <workspaceDir>/<path>.
		name:   "features: URL context, maxConcurrentTasks 0, relative mountPaths accepted",
		docs:   fixture(t, "features-contexts"),
		phases: map[string]string{"default/context-system": "Queued"},
		want: []Finding{
			f(KindAgent, "default", "advanced-agent", "spec.allowedNamespaces", Changed, rAllowedNS),
			f(KindAgent, "default", "advanced-agent", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, "default", "advanced-agent", "spec.config", Changed, rPermission),
			f(KindAgent, "default", "rate-limited-agent", "spec.allowedNamespaces", Changed, rAllowedNS),
			f(KindAgent, "default", "rate-limited-agent", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, "default", "rate-limited-agent", "spec.config", Changed, rPermission),
			f(KindAgent, "default", "unlimited-agent", "spec.allowedNamespaces", Changed, rAllowedNS),
			f(KindAgent, "default", "unlimited-agent", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, "default", "unlimited-agent", "spec.config", Changed, rPermission),
			f(KindAgent, "default", "unlimited-agent", "spec.maxConcurrentTasks", Refused, rMaxZero),
			f(KindTask, "default", "context-system", "spec.contexts[3].type", Refused, rURLType),
			f(KindTask, "default", "context-system", "spec.contexts[3].url", Changed, rURLDropped),
			f(KindTask, "default", "context-system", "status.phase", Changed, "Queued: not started by upstream yet"),
		},
	}, {
		name: "Helm chart KubeOpenCodeConfig",
		docs: fixture(t, "helm-config"),
	}, {
		name:   "security edge cases",
		docs:   edgeCases,
		phases: map[string]string{"platform/running": "Running"},
		want: []Finding{
			f(KindAgent, "platform", "shared", "spec.allowedNamespaces", Changed, "Tasks in other namespaces that reference it: team-a/borrow-secret"),
			f(KindAgent, "platform", "shared", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, "platform", "shared", "spec.command", Changed, rConfigFile),
			f(KindAgent, "platform", "shared", "spec.credentials[0].env", Refused, rReservedEnv),
			f(KindAgent, "platform", "shared", "spec.credentials[1].mountPath", Refused, rReservedPath),
			f(KindAgent, "platform", "shared", "spec.credentials[2].fileMode", Refused, rGroupWrite),
			f(KindAgent, "platform", "shared", "spec.podSpec.labels", Refused, rReservedLabel),
			f(KindAgent, "platform", "shared", "status.taskStartHistory", Changed, rDropped),
			f(KindAgent, "platform", "teams", "spec.allowedNamespaces[0]", Refused, rGlob),
			f(KindAgent, "platform", "teams", "spec.automountServiceAccountToken", Changed, rToken),
			f(KindAgent, "platform", "teams", "spec.contexts[0].mountPath", Refused, "upstream ignored mountPath on Runtime contexts"),
			f(KindTask, "platform", "running", "metadata.finalizers[0]", Changed, "leaves it Terminating for ever"),
			f(KindTask, "platform", "running", "spec.contexts", Refused, "a Task context must not be mounted at OpenCode's configuration"),
			f(KindTask, "platform", "running", "spec.contexts[0].mountPath", Changed, "outside the Agent's workspaceDir /workspace"),
			f(KindTask, "platform", "running", "status.phase", Changed, rRunning),
			f(KindTask, "team-a", "borrow-secret", "spec.contexts", Refused, rGitSecret),
			f(KindTask, "team-a", "borrow-secret", "status.phase", Changed, rNotStarted),
		},
	}, {
		name:   "negative control: valid for our CRDs, same meaning",
		docs:   validForUs,
		phases: map[string]string{"team-a/done": "Completed", "platform/failed": "Failed"},
	}}
}

// matchReasons replaces each reason in got by the expected substring it contains (of the want
// entry with the same kind, object, path and verdict), so that cmp.Diff shows only real
// differences.
func matchReasons(got, want []Finding) []Finding {
	out := append([]Finding(nil), got...)
	for i, g := range out {
		for _, w := range want {
			k := g
			k.Reason = w.Reason
			if k == w && strings.Contains(g.Reason, w.Reason) {
				out[i].Reason = w.Reason
				break
			}
		}
	}
	return out
}

// lineWith reports whether one line of s contains every part.
func lineWith(s string, parts ...string) bool {
	for _, line := range strings.Split(s, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestCheckUpstreamShaped stores upstream-shaped objects through schema-less CRDs (what
// upstream's CRDs let through), reads them back from the API server as the command does, and
// compares the findings.
func TestCheckUpstreamShaped(t *testing.T) {
	ctx := context.Background()
	e, dc := upstreamEnv(t)
	checker := newChecker(t)
	for _, tc := range checkCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			waitEmpty(t, dc)
			store(ctx, t, e, dc, decodeYAML(t, tc.docs), tc.phases)
			got, notes, err := checker.Check(ctx, dc)
			if err != nil || len(notes) > 0 {
				t.Fatalf("Check: %v (notes %v)", err, notes)
			}
			if diff := cmp.Diff(tc.want, matchReasons(got, tc.want)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMainAgainstCluster runs the command as a user would, on stored objects with findings and
// on the negative control: exit codes, the table, and JSON that decodes to the same findings.
func TestMainAgainstCluster(t *testing.T) {
	ctx := context.Background()
	e, dc := upstreamEnv(t)
	config := func(kubeconfig string) (*rest.Config, error) {
		if kubeconfig != "" {
			t.Errorf("kubeconfig %q, want none", kubeconfig)
		}
		return rest.CopyConfig(e.Config), nil
	}
	cases := []struct {
		name     string
		docs     string
		phases   map[string]string
		args     []string
		want     int
		contains []string // on one line of stdout
	}{
		{"findings, table", edgeCases, nil, []string{"check"}, ExitFindings, []string{"Agent", "platform/shared", "spec.credentials[0].env", "Refused", "is reserved"}},
		{"findings, json", edgeCases, nil, []string{"check", "-o", "json"}, ExitFindings, []string{`"path": "spec.credentials[0].env"`}},
		{"clean, table", validForUs, map[string]string{"team-a/done": "Completed", "platform/failed": "Failed"}, []string{"check"}, ExitClean, []string{"No findings"}},
		{"clean, json", validForUs, map[string]string{"team-a/done": "Completed", "platform/failed": "Failed"}, []string{"check", "-o=json"}, ExitClean, []string{`"findings": []`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			waitEmpty(t, dc)
			store(ctx, t, e, dc, decodeYAML(t, tc.docs), tc.phases)
			var stdout, stderr bytes.Buffer
			if got := Main(ctx, tc.args, &stdout, &stderr, config); got != tc.want {
				t.Fatalf("exit %d, want %d; stderr %q", got, tc.want, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr %q, want nothing (upstream's CRDs, every kind installed)", stderr.String())
			}
			if !lineWith(stdout.String(), tc.contains...) {
				t.Errorf("no line of stdout contains %q:\n%s", tc.contains, stdout.String())
			}
			if strings.Contains(strings.Join(tc.args, " "), "json") {
				var r Report
				if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
					t.Fatalf("decoding the JSON report: %v", err)
				}
				want, _, err := newChecker(t).Check(ctx, dc)
				if err != nil {
					t.Fatal(err)
				}
				if want == nil {
					want = []Finding{}
				}
				if diff := cmp.Diff(want, r.Findings); diff != "" {
					t.Errorf("JSON findings (-Check +Main):\n%s", diff)
				}
			}
		})
	}
}
