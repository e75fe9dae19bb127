package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Group, version and kinds shared by upstream KubeOpenCode and us.
const (
	Group      = "kubeopencode.io"
	Version    = "v1alpha1"
	KindAgent  = "Agent"
	KindTask   = "Task"
	KindConfig = "KubeOpenCodeConfig"
)

// UpstreamTaskFinalizer is the finalizer upstream's controller puts on every Task.
const UpstreamTaskFinalizer = "kubeopencode.io/task-cleanup"

// Verdict says what our CRDs and operator do with a field of an upstream object.
type Verdict string

const (
	// Refused: our CRDs refuse the object as it is (re-applying it fails).
	Refused Verdict = "Refused"
	// Changed: accepted, but dropped or read with another meaning.
	Changed Verdict = "Changed"
)

// Finding is one field of one stored object that our CRDs refuse or interpret differently.
type Finding struct {
	Kind      string  `json:"kind"`
	Namespace string  `json:"namespace,omitempty"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Verdict   Verdict `json:"verdict"`
	Reason    string  `json:"reason"`
}

// Checker checks upstream-shaped objects against our CRDs. It is safe for concurrent use.
type Checker struct {
	kinds map[string]*kindSchema
}

// NewChecker compiles the CRDs embedded in the api module.
func NewChecker() (*Checker, error) {
	kinds, err := compileEmbedded()
	if err != nil {
		return nil, err
	}
	return &Checker{kinds: kinds}, nil
}

// CheckObjects checks every object (Agents, Tasks and KubeOpenCodeConfigs as stored, in any
// order; other kinds are ignored) and returns the findings sorted by kind, namespace, name, path
// and verdict. The objects are not modified. Agents are checked together with the Tasks that
// reference them, so their findings can name the Tasks a change affects.
func (c *Checker) CheckObjects(ctx context.Context, objs []*unstructured.Unstructured) []Finding {
	var out []Finding
	rel := relate(objs)
	for _, u := range objs {
		if u.GroupVersionKind().Group != Group || c.kinds[u.GetKind()] == nil {
			continue
		}
		out = append(out, c.checkObject(ctx, u, rel)...)
	}
	Sort(out)
	return out
}

func (c *Checker) checkObject(ctx context.Context, u *unstructured.Unstructured, rel relations) []Finding {
	ks := c.kinds[u.GetKind()]
	add := func(out []Finding, path string, v Verdict, reason string) []Finding {
		return append(out, Finding{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), Path: path, Verdict: v, Reason: reason})
	}
	var out []Finding
	// A JSON round trip, not a deep copy: it accepts any Go values a caller built and gives the
	// validators what the API server would see (integers as int64).
	stored, err := jsonCopy(u)
	if err != nil {
		return add(out, "<object>", Refused, "cannot be encoded as JSON: "+err.Error())
	}

	// What the API server does to the stored object once our CRD is installed: on every read,
	// and again when the object is next written.
	obj := runtime.DeepCopyJSON(stored)
	for _, p := range ks.prune(obj) {
		out = add(out, p, Changed, droppedReason(u.GetKind(), p))
	}
	defaulting.Default(obj, ks.structural)

	// What a create or re-apply of the same manifest meets: status is not part of it (the status
	// subresource resets it), nor is server-set metadata.
	candidate := map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": userMetadata(obj)}
	if spec, ok := obj["spec"]; ok {
		candidate["spec"] = spec
	}
	for _, e := range ks.validate(ctx, candidate) {
		out = add(out, errorPath(e), Refused, refusalReason(u.GetKind(), e))
	}

	for _, m := range meaningChanges(u.GetKind(), u.GetNamespace(), u.GetName(), stored, rel) {
		out = add(out, m.path, Changed, m.reason)
	}
	return out
}

func jsonCopy(u *unstructured.Unstructured) (map[string]any, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return out.Object, nil
}

// userMetadata keeps the metadata a user writes; the rest is set by the API server.
func userMetadata(obj map[string]any) map[string]any {
	md, _ := obj["metadata"].(map[string]any)
	out := map[string]any{}
	for _, k := range []string{"name", "namespace", "labels", "annotations", "finalizers"} {
		if v, ok := md[k]; ok {
			out[k] = v
		}
	}
	return out
}

// errorPath is the field path of a validation error; "<object>" when it has none.
func errorPath(e *field.Error) string {
	if e.Field == "" || e.Field == "<nil>" {
		return "<object>"
	}
	return e.Field
}

// refusalReason says which rule refused the field, without the offending value (values can be
// long, and the path already says where to look), plus what upstream meant where that helps.
func refusalReason(kind string, e *field.Error) string {
	r := e.Type.String()
	if e.Detail != "" {
		r += ": " + e.Detail
	}
	gp := kind + " " + GenericPath(e.Field)
	for _, h := range refusalHints {
		if gp == h.path && strings.Contains(e.Detail, h.detail) {
			return r + " (" + h.hint + ")"
		}
	}
	return r
}

// refusalHints explain the refusals upstream users will meet most: by kind and generic path, and
// a substring of the rule's message.
var refusalHints = []struct{ path, detail, hint string }{
	{"Agent spec.maxConcurrentTasks", "greater than or equal to 1", "upstream read 0 as no cap; omit the field for no cap"},
	{"Agent spec.contexts[*].type", `"Runtime"`, "URL contexts are not supported: the operator fetches nothing on the agent's behalf; use a ConfigMap or Git context"},
	{"Task spec.contexts[*].type", `"Runtime"`, "URL contexts are not supported: the operator fetches nothing on the agent's behalf; use a ConfigMap or Git context"},
	{"Task spec.agentRef", "", "upstream v0.0.3's CRD requires it too, although its getting-started guide shows a Task without it"},
	{"Agent spec.contexts[*].mountPath", "Runtime context", "upstream ignored mountPath on Runtime contexts; remove it"},
	{"Task spec.contexts[*].mountPath", "Runtime context", "upstream ignored mountPath on Runtime contexts; remove it"},
}

// droppedReason explains a field our schema does not know.
func droppedReason(kind, path string) string {
	if r := droppedReasons[kind+" "+GenericPath(path)]; r != "" {
		return "not in our schema, dropped on read and on the next write: " + r
	}
	return "not in our schema, dropped on read and on the next write; our operator ignores it"
}

var droppedReasons = map[string]string{
	"Agent spec.serverConfig":       "Server mode is not supported: every Task runs in its own Pod; the Deployment and Service upstream created for it are left behind (delete them)",
	"Agent spec.attachImage":        "used only by upstream's Server mode",
	"Agent status.taskStartHistory": "upstream's quota bookkeeping; our operator counts Task starts itself",
	"Agent status.serverStatus":     "upstream's Server mode status",
	"Agent spec.contexts[*].url":    "URL contexts are not supported",
	"Task spec.contexts[*].url":     "URL contexts are not supported",
}

// Sort orders findings by kind, namespace, name, path, verdict and reason.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		for _, c := range [][2]string{{a.Kind, b.Kind}, {a.Namespace, b.Namespace}, {a.Name, b.Name}, {a.Path, b.Path}, {string(a.Verdict), string(b.Verdict)}, {a.Reason, b.Reason}} {
			if c[0] != c[1] {
				return c[0] < c[1]
			}
		}
		return false
	})
}

// GenericPath replaces every list index and map key in a field path with [*]:
// spec.contexts[3].git becomes spec.contexts[*].git. Paths are what field.Path and the pruner
// print; anything unbalanced is kept as it is.
func GenericPath(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '[')
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		j := strings.IndexByte(p[i:], ']')
		if j < 0 {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:i])
		b.WriteString("[*]")
		p = p[i+j+1:]
	}
}

// relations are what the checks of one object need to know about the others.
type relations struct {
	// crossNS maps "agentNamespace/agentName" to the Tasks ("namespace/name") in other
	// namespaces that reference that Agent.
	crossNS map[string][]string
	// workspaces maps "namespace/name" of an Agent to its spec.workspaceDir.
	workspaces map[string]string
}

func relate(objs []*unstructured.Unstructured) relations {
	rel := relations{crossNS: map[string][]string{}, workspaces: map[string]string{}}
	for _, u := range objs {
		if u.GroupVersionKind().Group != Group {
			continue
		}
		switch u.GetKind() {
		case KindAgent:
			if ws, ok, _ := unstructured.NestedString(u.Object, "spec", "workspaceDir"); ok {
				rel.workspaces[u.GetNamespace()+"/"+u.GetName()] = ws
			}
		case KindTask:
			name, _, _ := unstructured.NestedString(u.Object, "spec", "agentRef", "name")
			ns, _, _ := unstructured.NestedString(u.Object, "spec", "agentRef", "namespace")
			if name == "" || ns == "" || ns == u.GetNamespace() {
				continue
			}
			k := ns + "/" + name
			rel.crossNS[k] = append(rel.crossNS[k], u.GetNamespace()+"/"+u.GetName())
		}
	}
	for _, v := range rel.crossNS {
		sort.Strings(v)
	}
	return rel
}

type change struct{ path, reason string }

// meaningChanges are the explicit checks: fields our CRDs accept but read differently from
// upstream v0.0.3. obj is the object as stored (not pruned).
func meaningChanges(kind, namespace, name string, obj map[string]any, rel relations) []change {
	var out []change
	crossNS := rel.crossNS[namespace+"/"+name]
	switch kind {
	case KindAgent:
		if l, _, _ := unstructured.NestedSlice(obj, "spec", "allowedNamespaces"); len(l) == 0 {
			r := "unset: upstream let Tasks of every namespace use the Agent; ours only Tasks of its own namespace (secure default). List the namespaces that may use it, or \"*\" for every namespace"
			if len(crossNS) > 0 {
				r += fmt.Sprintf("; Tasks in other namespaces that reference it: %s", listSome(crossNS, 5))
			}
			out = append(out, change{"spec.allowedNamespaces", r})
		}
		creds, _, _ := unstructured.NestedSlice(obj, "spec", "credentials")
		for i, c := range creds {
			cm, _ := c.(map[string]any)
			key, _, _ := unstructured.NestedString(cm, "secretRef", "key")
			_, hasMount := cm["mountPath"]
			_, hasPrefix := cm["envPrefix"]
			if key == "" && !hasMount && !hasPrefix {
				out = append(out, change{field.NewPath("spec", "credentials").Index(i).String(),
					"a whole Secret as environment variables without envPrefix: upstream exported every key under its own name; " +
						"our operator refuses it (Agent Ready=False, its Tasks fail with InvalidConfiguration) because a key could name a reserved variable such as PATH or TASK_*. " +
						"Set envPrefix (e.g. \"OPENCODE_CREDS_\") or one credential per key with secretRef.key and env"})
			}
		}
		if cmd, _, _ := unstructured.NestedStringSlice(obj, "spec", "command"); len(cmd) > 0 {
			if joined := strings.Join(cmd, " "); strings.Contains(joined, "opencode.json") || strings.Contains(joined, "OPENCODE_CONFIG") {
				out = append(out, change{"spec.command", "names OpenCode's configuration file or variable: upstream wrote spec.config to /tools/opencode.json and set OPENCODE_CONFIG; ours passes it in OPENCODE_CONFIG_CONTENT and writes no file"})
			}
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(obj, "spec", "automountServiceAccountToken"); !found {
			out = append(out, change{"spec.automountServiceAccountToken", "unset: upstream left it to Kubernetes, so agent Pods got the token of spec.serviceAccountName (unless the ServiceAccount disabled automounting); ours default to false, so the agent no longer has the RBAC that ServiceAccount grants. Set true if the agent must call the Kubernetes API"})
		}
		if !configSetsPermission(obj) {
			out = append(out, change{"spec.config", "no \"permission\" in spec.config: upstream set OPENCODE_PERMISSION={\"*\":\"allow\"} in every agent Pod, pre-approving every tool; ours pre-approves nothing, so OpenCode's own defaults apply. If the agent must run every tool unattended, say so in spec.config (\"permission\": {\"*\": \"allow\"}), a decision the platform team makes explicitly"})
		}
	case KindTask:
		out = append(out, taskPathsOutsideWorkspace(namespace, obj, rel)...)
		finalizers, _, _ := unstructured.NestedStringSlice(obj, "metadata", "finalizers")
		for i, fz := range finalizers {
			if fz == UpstreamTaskFinalizer {
				out = append(out, change{field.NewPath("metadata", "finalizers").Index(i).String(),
					"upstream's finalizer " + UpstreamTaskFinalizer + ": only upstream's controller removes it (after deleting the Task's Pod), and ours does not, " +
						"so once upstream's controller is gone, deleting the Task (by you or by our cleanup) leaves it Terminating for ever. " +
						"Delete the Tasks you no longer need while upstream's controller runs; remove the finalizer from the others after upstream's Pods are gone"})
			}
		}
		phase, _, _ := unstructured.NestedString(obj, "status", "phase")
		switch phase {
		case "Completed", "Failed":
		case "Running":
			out = append(out, change{"status.phase", "Running under upstream: our operator does not adopt upstream's Pod (it carries none of our labels); the Task ends Failed (PodMissing) while that Pod runs on unmanaged. Let it finish or stop it before the switch"})
		default:
			out = append(out, change{"status.phase", fmt.Sprintf("%s: not started by upstream yet; our operator starts a Task only if our admission policies were in force when it was created, so it ends Failed (AdmissionPoliciesMissing). Recreate it after the switch", phaseOrUnset(phase))})
		}
	}
	return out
}

// taskPathsOutsideWorkspace finds a Task's contexts mounted at an absolute path outside its
// Agent's workspaceDir (the Agent must be among the checked objects).
func taskPathsOutsideWorkspace(namespace string, obj map[string]any, rel relations) []change {
	agent, _, _ := unstructured.NestedString(obj, "spec", "agentRef", "name")
	agentNS, _, _ := unstructured.NestedString(obj, "spec", "agentRef", "namespace")
	if agentNS == "" {
		agentNS = namespace
	}
	ws, ok := rel.workspaces[agentNS+"/"+agent]
	if !ok {
		return nil
	}
	var out []change
	contexts, _, _ := unstructured.NestedSlice(obj, "spec", "contexts")
	for i, c := range contexts {
		cm, _ := c.(map[string]any)
		mp, _ := cm["mountPath"].(string)
		if strings.HasPrefix(mp, "/") && !strings.HasPrefix(mp, ws+"/") {
			out = append(out, change{field.NewPath("spec", "contexts").Index(i).Child("mountPath").String(),
				fmt.Sprintf("outside the Agent's workspaceDir %s: upstream mounted it there; ours fails the Task (PathConflict), because a Task's contexts stay in the workspace "+
					"and cannot cover the Agent's tools, HOME, credentials or configuration. Use a path relative to the workspace", ws)})
		}
	}
	return out
}

// configSetsPermission reports whether spec.config is a JSON object with a "permission" key.
func configSetsPermission(obj map[string]any) bool {
	cfg, _, _ := unstructured.NestedString(obj, "spec", "config")
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(cfg), &m) != nil {
		return false
	}
	_, ok := m["permission"]
	return ok
}

func phaseOrUnset(p string) string {
	if p == "" {
		return "unset"
	}
	return p
}

func listSome(l []string, n int) string {
	if len(l) <= n {
		return strings.Join(l, ", ")
	}
	return strings.Join(l[:n], ", ") + fmt.Sprintf(" and %d more", len(l)-n)
}
