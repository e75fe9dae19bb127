package examples

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/examples/internal/generate"
	"github.com/kubeopencode/kubeopencode/examples/sandbox"
	sandboxv1alpha1 "github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// waitFor polls cond until it reports done, for at most 30 seconds, never sleeping blindly:
// RBAC bindings and admission policies reach the API server's caches asynchronously.
func waitFor(ctx context.Context, t *testing.T, what string, cond func(ctx context.Context) (done bool, last string)) {
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

// userClient acts as user in groups, through the admin's impersonation right.
func userClient(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// devTask is a Task in the development team's namespace on an Agent of platform-agents.
func devTask(name, agent string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Task",
		"metadata": map[string]any{"name": name, "namespace": generate.DevNamespace},
		"spec": map[string]any{
			"description": "fix the flaky test",
			"agentRef":    map[string]any{"name": agent, "namespace": generate.PlatformNamespace},
		},
	}}
	return u
}

func isPolicyRefusal(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+kocpolicy.DefaultAdmissionPolicyName+"'")
}

func describe(err error) string {
	if err == nil {
		return "admitted"
	}
	return err.Error()
}

// TestAdmissionPolicyExample proves tenancy/ (threat T2): a web developer, who may create Tasks in
// prod-web, cannot run them on an Agent nobody granted them, and can on production-agent exactly
// because of the example's RoleBinding.
func TestAdmissionPolicyExample(t *testing.T) {
	ctx := context.Background()
	dana := userClient(t, "dana", generate.DevTeamGroup)
	create := func(task *unstructured.Unstructured) func(context.Context) error {
		return func(ctx context.Context) error { return dana.Create(ctx, task.DeepCopy(), client.DryRunAll) }
	}
	refused := func(create func(context.Context) error) func(context.Context) (bool, string) {
		return func(ctx context.Context) (bool, string) {
			err := create(ctx)
			return isPolicyRefusal(err), describe(err)
		}
	}
	admitted := func(create func(context.Context) error) func(context.Context) (bool, string) {
		return func(ctx context.Context) (bool, string) {
			err := create(ctx)
			return err == nil, describe(err)
		}
	}
	onSecure, onProduction := create(devTask("on-secure-agent", "secure-agent")), create(devTask("on-production-agent", generate.GrantedAgent))

	// The policy refuses once it is loaded and dana's task-author binding lets the request reach
	// admission; nothing else may refuse it.
	waitFor(ctx, t, "the policy refuses a Task on secure-agent", refused(onSecure))
	err := onSecure(ctx)
	want := `user "dana" may not use Agent "platform-agents/secure-agent": ask the platform team to grant the "use" verb on agents.kubeopencode.io "secure-agent" in namespace "platform-agents"`
	if !strings.Contains(describe(err), want) {
		t.Errorf("refusal: got %v, want it to say %q", err, want)
	}
	waitFor(ctx, t, "a Task on production-agent is admitted", admitted(onProduction))

	// The example's RoleBinding is what grants it: without it the Task is refused, with it
	// (re-applied from the example) admitted again.
	d, ok := find(docs, "RoleBinding", generate.PlatformNamespace, generate.DevTeamUseBinding)
	if !ok {
		t.Fatalf("no RoleBinding %s in the examples", generate.DevTeamUseBinding)
	}
	if err := env.Client.Delete(ctx, d.obj.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	restore := func() error { return client.IgnoreAlreadyExists(env.Client.Create(ctx, d.obj.DeepCopy())) }
	t.Cleanup(func() {
		if err := restore(); err != nil {
			t.Error(err)
		}
	})
	waitFor(ctx, t, "without the RoleBinding, a Task on production-agent is refused", refused(onProduction))
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "with the RoleBinding back, a Task on production-agent is admitted", admitted(onProduction))
}

// TestPersonaSplit proves the persona RoleBindings of tenancy/: the platform team manages Agents
// and Secrets in platform-agents; the web developers write Tasks in prod-web, may use
// production-agent and nothing else there, and never read a Secret (threats T2, T3).
func TestPersonaSplit(t *testing.T) {
	ctx := context.Background()
	platform := []string{"pat", generate.PlatformTeamGroup}
	dev := []string{"dana", generate.DevTeamGroup}
	type access struct {
		who                             []string
		verb, group, resource, ns, name string
	}
	cases := map[string]struct {
		access
		want bool
	}{
		"platform creates Agents":                            {access{platform, "create", "kubeopencode.io", "agents", "platform-agents", ""}, true},
		"platform creates Secrets":                           {access{platform, "create", "", "secrets", "platform-agents", ""}, true},
		"platform may create the Pods its Agents make (T21)": {access{platform, "create", "", "pods", "platform-agents", ""}, true},
		"dev creates no Pods in platform-agents":             {access{dev, "create", "", "pods", "platform-agents", ""}, false},
		"platform uses any of its Agents":                    {access{platform, "use", "kubeopencode.io", "agents", "platform-agents", "secure-agent"}, true},
		"platform reads no team's Secrets":                   {access{platform, "get", "", "secrets", "prod-web", ""}, false},
		"dev creates Tasks in prod-web":                      {access{dev, "create", "kubeopencode.io", "tasks", "prod-web", ""}, true},
		"dev stops Tasks (patch) in prod-web":                {access{dev, "patch", "kubeopencode.io", "tasks", "prod-web", ""}, true},
		"dev uses production-agent":                          {access{dev, "use", "kubeopencode.io", "agents", "platform-agents", "production-agent"}, true},
		"dev does not use secure-agent":                      {access{dev, "use", "kubeopencode.io", "agents", "platform-agents", "secure-agent"}, false},
		"dev does not read Agents":                           {access{dev, "get", "kubeopencode.io", "agents", "platform-agents", "production-agent"}, false},
		"dev does not write Agents":                          {access{dev, "update", "kubeopencode.io", "agents", "platform-agents", "production-agent"}, false},
		"dev reads no Secret of platform-agents":             {access{dev, "get", "", "secrets", "platform-agents", "production-model-api"}, false},
		"dev creates no Tasks in staging":                    {access{dev, "create", "kubeopencode.io", "tasks", "staging", ""}, false},
	}
	allowed := func(ctx context.Context, a access) (bool, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: a.who[0], Groups: a.who[1:],
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.ns, Name: a.name},
		}}
		if err := env.Client.Create(ctx, sar); err != nil {
			return false, err
		}
		return sar.Status.Allowed, nil
	}
	// Every grant must be visible before a denial means anything.
	waitFor(ctx, t, "every granted access is allowed", func(ctx context.Context) (bool, string) {
		for name, c := range cases {
			if ok, err := allowed(ctx, c.access); c.want && (err != nil || !ok) {
				return false, fmt.Sprintf("%s: allowed=%t err=%v", name, ok, err)
			}
		}
		return true, ""
	})
	want, got := map[string]bool{}, map[string]bool{}
	for name, c := range cases {
		ok, err := allowed(ctx, c.access)
		if err != nil {
			t.Fatal(err)
		}
		want[name], got[name] = c.want, ok
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access (-want +got):\n%s", diff)
	}
}

// examplePods are the Pods the examples lead to, by namespace: each Agent's (as the operator
// builds it), each Sandbox's (as the Sandbox controller builds it) and each Deployment's template.
func examplePods(t *testing.T) map[string][]*corev1.Pod {
	t.Helper()
	pods := map[string][]*corev1.Pod{}
	for _, a := range agents(t) {
		pod, err := agentPod(a)
		if err != nil {
			t.Fatal(err)
		}
		pods[pod.Namespace] = append(pods[pod.Namespace], pod)
	}
	for _, d := range byKind(docs, "Sandbox") {
		sb := &sandboxv1alpha1.Sandbox{}
		if err := d.decode(sb); err != nil {
			t.Fatal(err)
		}
		sb.UID = "5d3c2a1b-0000-4000-8000-000000000001"
		td, _ := find(docs, "SandboxTemplate", sandbox.PodNamespace(sb), sb.Spec.TemplateRef.Name)
		tmpl := &sandboxv1alpha1.SandboxTemplate{}
		if err := td.decode(tmpl); err != nil {
			t.Fatal(err)
		}
		pod, err := sandbox.BuildPod(sb, tmpl, sandbox.Options{StagingImage: "example.com/stage-credentials:v1"})
		if err != nil {
			t.Fatal(err)
		}
		pods[pod.Namespace] = append(pods[pod.Namespace], pod)
	}
	for _, d := range byKind(docs, "Deployment") {
		dep := &appsv1.Deployment{}
		if err := d.decode(dep); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: *dep.Spec.Template.ObjectMeta.DeepCopy(), Spec: *dep.Spec.Template.Spec.DeepCopy()}
		pod.Name, pod.Namespace = dep.Name, dep.Namespace
		pods[pod.Namespace] = append(pods[pod.Namespace], pod)
	}
	return pods
}

// TestRestrictedNamespacesEnforce proves restricted-namespace/ and every other example namespace
// labelled pod-security.kubernetes.io/enforce=restricted (threat T8): the API server admits the
// Pods the examples lead to there, and refuses an ordinary Pod with exactly the reasons
// policy.PodSecurityJudge gives, at the namespace's pinned version.
func TestRestrictedNamespacesEnforce(t *testing.T) {
	ctx := context.Background()
	pods := examplePods(t)
	var checked []string
	for _, d := range byKind(docs, "Namespace") {
		labels := d.obj.GetLabels()
		if labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			continue
		}
		ns := d.obj.GetName()
		checked = append(checked, ns)
		t.Run(ns, func(t *testing.T) {
			if len(pods[ns]) == 0 {
				t.Fatalf("no example leads to a Pod in %s: nothing shows the namespace works", ns)
			}
			for _, pod := range pods[ns] {
				if err := env.Client.Create(ctx, pod.DeepCopy(), client.DryRunAll); err != nil {
					t.Errorf("Pod %s: %v", pod.Name, err)
				}
			}
			naive := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "naive", Namespace: ns},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:v1"}}},
			}
			judge, err := policy.NewPodSecurityJudge("restricted", labels["pod-security.kubernetes.io/enforce-version"])
			if err != nil {
				t.Fatal(err)
			}
			err = env.Client.Create(ctx, naive, client.DryRunAll)
			want := `pods "naive" is forbidden: ` + judge.Judge(naive).Message()
			if !apierrors.IsForbidden(err) || err.Error() != want {
				t.Errorf("ordinary Pod:\n got %v\nwant %s", err, want)
			}
		})
	}
	if !slices.Contains(checked, "agents-restricted") || !slices.Contains(checked, generate.PlatformNamespace) {
		t.Errorf("checked %v; want at least agents-restricted and platform-agents", checked)
	}
}

// TestAPIRefusesWhatTheReadmesSay: each refusal an example promises is the API server's, not
// only the operator's. Every case edits a copy of an example document and must be refused.
func TestAPIRefusesWhatTheReadmesSay(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, threat, doc string
		edit              func(obj map[string]any) error
		want              string
	}{
		{"credential env PATH", "T10", "Agent platform-agents/credentials-agent",
			set("PATH", "spec", "credentials", 0, "env"), "is reserved"},
		{"credential env TASK_ID", "T10", "Agent platform-agents/credentials-agent",
			set("TASK_ID", "spec", "credentials", 0, "env"), "is reserved"},
		{"credential file mode 0620", "T9", "Agent platform-agents/credentials-agent",
			set(int64(0o620), "spec", "credentials", 1, "fileMode"), "must not grant group or other write permission"},
		{"credential file under /tools", "T11", "Agent platform-agents/credentials-agent",
			set("/tools/id_ed25519", "spec", "credentials", 1, "mountPath"), "operator-reserved path"},
		{"two credentials at one path", "T11", "Agent platform-agents/credentials-agent",
			appendTo(map[string]any{"name": "again", "secretRef": map[string]any{"name": "deploy-key", "key": "id_ed25519"},
				"mountPath": "/home/agent/.ssh/id_ed25519"}, "spec", "credentials"), "mountPath must be unique within credentials"},
		{"reserved Pod label", "T12", "Agent platform-agents/secure-agent",
			set(map[string]any{"kubeopencode.io/agent": "other"}, "spec", "podSpec", "labels"), "reserved for the operator"},
		{"invalid allowedNamespaces glob", "T16", "Agent platform-agents/production-agent",
			set([]any{"Prod-*"}, "spec", "allowedNamespaces"), "must be a namespace name or glob"},
		{"git over plain http", "T13", "Agent platform-agents/git-agent",
			set("http://git.example.com/web/app.git", "spec", "contexts", 0, "git", "repository"), "must be an https:// or ssh:// URL"},
		{"Task Secret sent to another namespace", "T3", "Task prod-web/apply-style-guide",
			set(map[string]any{"name": "my-token"}, "spec", "contexts", 0, "git", "secretRef"), "git.secretRef is allowed only when the Task runs in its own namespace"},
	}
	for _, c := range cases {
		t.Run(c.threat+" "+c.name, func(t *testing.T) {
			var d document
			for _, cand := range docs {
				if cand.key() == c.doc {
					d = cand
				}
			}
			if d.obj == nil {
				t.Fatalf("no example %s", c.doc)
			}
			obj := d.obj.DeepCopy()
			obj.SetName(obj.GetName() + "-edited")
			if err := c.edit(obj.Object); err != nil {
				t.Fatal(err)
			}
			err := env.Client.Create(ctx, obj, client.DryRunAll)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v; want Invalid saying %q", err, c.want)
			}
		})
	}
}

// appendTo returns an edit that appends value to the list at path.
func appendTo(value any, path ...any) func(map[string]any) error {
	return func(obj map[string]any) error {
		list, ok, err := unstructured.NestedSlice(obj, stringPath(path)...)
		if err != nil || !ok {
			return fmt.Errorf("%v: no list (%v)", path, err)
		}
		return unstructured.SetNestedSlice(obj, append(list, value), stringPath(path)...)
	}
}

func stringPath(path []any) []string {
	out := make([]string, len(path))
	for i, p := range path {
		out[i] = fmt.Sprint(p)
	}
	return out
}

// set returns an edit that puts value at path (map keys and list indexes) in an object.
func set(value any, path ...any) func(map[string]any) error {
	return func(obj map[string]any) error {
		var cur any = obj
		for i, step := range path {
			last := i == len(path)-1
			switch s := step.(type) {
			case string:
				m, ok := cur.(map[string]any)
				if !ok {
					return fmt.Errorf("%v: not a map at %q", path, s)
				}
				if last {
					m[s] = value
					return nil
				}
				cur = m[s]
			case int:
				l, ok := cur.([]any)
				if !ok || s >= len(l) {
					return fmt.Errorf("%v: no index %d", path, s)
				}
				if last {
					l[s] = value
					return nil
				}
				cur = l[s]
			}
		}
		return errors.New("empty path")
	}
}
