package configtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/hack/testbed"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

const chartDir = "../../../charts/kubeopencode"

// helmTemplate renders charts/kubeopencode with the test bed's helm (`make testbin` builds it from
// the Go module proxy) and returns its objects keyed like build's, or the error helm printed.
func helmTemplate(t *testing.T, args ...string) (map[string]map[string]any, error) {
	t.Helper()
	helm, err := testbed.Helm()
	if err != nil {
		t.Fatalf("the chart tests need helm: %v", err)
	}
	cmd := exec.Command(helm, append([]string{"template", "kubeopencode", chartDir, "--namespace", "kubeopencode-system"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		return nil, errors.New(strings.TrimSpace(stderr.String()))
	}
	objs := map[string]map[string]any{}
	dec := utilyaml.NewYAMLOrJSONDecoder(&stdout, 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("helm template printed invalid YAML: %v", err)
		}
		if m == nil {
			continue
		}
		meta, _ := m["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		key := m["kind"].(string) + "/" + ns + "/" + name
		if _, dup := objs[key]; dup {
			t.Errorf("the chart renders %s twice", key)
		}
		objs[key] = normalize(t, m)
	}
	return objs, nil
}

func mustHelmTemplate(t *testing.T, args ...string) map[string]map[string]any {
	t.Helper()
	objs, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return objs
}

// normalize makes objects from kustomize (kyaml) and helm (JSON decoding) comparable: numbers
// become float64 either way.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutKeepPolicy drops the one annotation the chart adds on purpose: its CRDs survive helm
// uninstall (deleting a CRD deletes every Agent and Task).
func withoutKeepPolicy(t *testing.T, objs map[string]map[string]any) {
	t.Helper()
	for key, o := range objs {
		if !strings.HasPrefix(key, "CustomResourceDefinition/") {
			continue
		}
		ann := o["metadata"].(map[string]any)["annotations"].(map[string]any)
		if ann["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s: helm.sh/resource-policy is %v, want keep", key, ann["helm.sh/resource-policy"])
		}
		delete(ann, "helm.sh/resource-policy")
	}
}

// TestChartMatchesKustomize: with default values the chart renders exactly the objects of
// `kubectl apply -k operator/config/default`, with the same content.
func TestChartMatchesKustomize(t *testing.T) {
	want := build(t, defaultConfig)
	for k, o := range want {
		want[k] = normalize(t, o)
	}
	got := mustHelmTemplate(t)
	withoutKeepPolicy(t, got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("helm template (default values) differs from kustomize build operator/config/default (-kustomize +helm):\n%s", d)
	}
	if len(got) != 24 {
		t.Errorf("the chart renders %d objects, want the 24 of TestDefaultConfigObjects", len(got))
	}
	// And with the ServiceMonitor on, the one of operator/config/prometheus is added.
	sm := build(t, "../../config/prometheus")
	got = mustHelmTemplate(t, "--set", "metrics.serviceMonitor.enabled=true")
	withoutKeepPolicy(t, got)
	for k, o := range sm {
		want[k] = normalize(t, o)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("helm template with the ServiceMonitor differs from operator/config/default + prometheus (-kustomize +helm):\n%s", d)
	}
}

func TestChartVersion(t *testing.T) {
	v, err := os.ReadFile("../../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart struct{ Version, AppVersion string }
	if err := yaml.Unmarshal(b, &chart); err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(v))
	if chart.Version != strings.TrimPrefix(version, "v") || chart.AppVersion != version {
		t.Errorf("Chart.yaml version %q appVersion %q; VERSION is %s", chart.Version, chart.AppVersion, version)
	}
}

func container(t *testing.T, objs map[string]map[string]any) (image string, args []string, ports []string) {
	t.Helper()
	d := decode[appsv1.Deployment](t, objs["Deployment/kubeopencode-system/kubeopencode-operator"])
	c := d.Spec.Template.Spec.Containers[0]
	for _, p := range c.Ports {
		ports = append(ports, p.Name)
	}
	return c.Image, c.Args, ports
}

// TestChartValues renders the chart with each value changed and checks what changes.
func TestChartValues(t *testing.T) {
	defaults := mustHelmTemplate(t)
	has := func(objs map[string]map[string]any, prefix string) int {
		n := 0
		for k := range objs {
			if strings.HasPrefix(k, prefix) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, objs map[string]map[string]any)
	}{{
		name: "image set once: operator and --system-image",
		args: []string{"--set", "image.repository=registry.example/koc", "--set", "image.tag=v9.9.9"},
		check: func(t *testing.T, objs map[string]map[string]any) {
			image, args, _ := container(t, objs)
			if image != "registry.example/koc:v9.9.9" || !slices.Contains(args, "--system-image=registry.example/koc:v9.9.9") {
				t.Errorf("image %s, args %v", image, args)
			}
		},
	}, {
		name: "digest wins over the tag",
		args: []string{"--set", "image.digest=sha256:" + strings.Repeat("a", 64)},
		check: func(t *testing.T, objs map[string]map[string]any) {
			image, args, _ := container(t, objs)
			want := "kubeopencode.local/operator@sha256:" + strings.Repeat("a", 64)
			if image != want || !slices.Contains(args, "--system-image="+want) {
				t.Errorf("image %s, args %v", image, args)
			}
		},
	}, {
		name: "systemImage overrides only --system-image",
		args: []string{"--set", "systemImage=registry.example/helper:v1"},
		check: func(t *testing.T, objs map[string]map[string]any) {
			image, args, _ := container(t, objs)
			if image != "kubeopencode.local/operator:v0.1.0" || !slices.Contains(args, "--system-image=registry.example/helper:v1") {
				t.Errorf("image %s, args %v", image, args)
			}
		},
	}, {
		name: "resources and GOMEMLIMIT",
		args: []string{"--set", "resources.limits.memory=1Gi", "--set", "goMemLimit=800MiB"},
		check: func(t *testing.T, objs map[string]map[string]any) {
			d := decode[appsv1.Deployment](t, objs["Deployment/kubeopencode-system/kubeopencode-operator"])
			c := d.Spec.Template.Spec.Containers[0]
			if c.Resources.Limits.Memory().String() != "1Gi" || c.Resources.Requests.Cpu().String() != "100m" {
				t.Errorf("resources %v", c.Resources)
			}
			if err := checkMemLimit(c); err != nil {
				t.Error(err)
			}
		},
	}, {
		name: "metrics off: no Service, no port, endpoint disabled",
		args: []string{"--set", "metrics.enabled=false", "--set", "metrics.serviceMonitor.enabled=true"},
		check: func(t *testing.T, objs map[string]map[string]any) {
			_, args, ports := container(t, objs)
			if has(objs, "Service/") != 0 || has(objs, "ServiceMonitor/") != 0 || slices.Contains(ports, "https") ||
				!slices.Contains(args, "--metrics-bind-address=0") {
				t.Errorf("metrics still exposed: args %v ports %v", args, ports)
			}
		},
	}, {
		name: "CRDs not installed",
		args: []string{"--set", "crds.install=false"},
		check: func(t *testing.T, objs map[string]map[string]any) {
			if n := has(objs, "CustomResourceDefinition/"); n != 0 || len(objs) != len(defaults)-3 {
				t.Errorf("%d CRDs, %d objects", n, len(objs))
			}
		},
	}, {
		name: "namespace not created",
		args: []string{"--set", "namespace.create=false"},
		check: func(t *testing.T, objs map[string]map[string]any) {
			if has(objs, "Namespace/") != 0 || len(objs) != len(defaults)-1 {
				t.Errorf("%d objects", len(objs))
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, mustHelmTemplate(t, tc.args...))
		})
	}
}

// TestChartWatchNamespaces: with watchNamespaces the chart's roles are exactly those of
// `kubeopencode-rbac --namespaces=...` (pods create and patch only in the watched namespaces), and
// the operator watches only them.
func TestChartWatchNamespaces(t *testing.T) {
	objs := mustHelmTemplate(t, "--set", "watchNamespaces={team-a,team-b}")
	_, args, _ := container(t, objs)
	if !slices.Contains(args, "--namespaces=team-a,team-b") {
		t.Errorf("operator args %v, want --namespaces=team-a,team-b", args)
	}
	generated, err := kocrbac.Manifest(kocrbac.ManifestOptions{Operator: kocrbac.OperatorOptions{Namespaces: []string{"team-a", "team-b"}}, Personas: kocrbac.Personas()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{}
	for _, o := range generated {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		meta := m["metadata"].(map[string]any)
		delete(meta, "creationTimestamp")
		ns, _ := meta["namespace"].(string)
		want[m["kind"].(string)+"/"+ns+"/"+meta["name"].(string)] = m
	}
	got := map[string]map[string]any{}
	for k, o := range objs {
		if strings.HasPrefix(k, "ClusterRole") || strings.HasPrefix(k, "Role") {
			got[k] = o
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the chart's roles with watchNamespaces differ from kocrbac.Manifest with Namespaces (-rbac +chart):\n%s", d)
	}
	op := decode[rbacv1.ClusterRole](t, objs["ClusterRole//"+kocrbac.OperatorRoleName])
	if found := rbac.FindDangerous(op.Rules); len(found) != 0 {
		t.Errorf("with watchNamespaces the operator's ClusterRole still grants %v cluster-wide", found)
	}
	if n := len(got) - len(mustRoles(t, mustHelmTemplate(t))); n != 4 {
		t.Errorf("watchNamespaces added %d roles and bindings, want 4 (a Role and RoleBinding per namespace)", n)
	}
}

func mustRoles(t *testing.T, objs map[string]map[string]any) []string {
	t.Helper()
	var keys []string
	for k := range objs {
		if strings.HasPrefix(k, "ClusterRole") || strings.HasPrefix(k, "Role") {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestChartRefusesBadValues: values that would weaken the install or be silently ignored fail
// the rendering with a message naming them.
func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"moving image tag", []string{"--set", "image.tag=latest"}, "image.tag must not be latest"},
		{"moving system image", []string{"--set", "systemImage=example.com/x:latest"}, "systemImage must not use the tag latest"},
		{"misspelt value", []string{"--set", "watchNamespace={team-a}"}, "'watchNamespace' not allowed"},
		{"misspelt nested value", []string{"--set", "metrics.servicemonitor.enabled=true"}, "'servicemonitor' not allowed"},
		{"invalid namespace", []string{"--set", "watchNamespaces={Team_A}"}, "watchNamespaces"},
		{"repeated namespace", []string{"--set", "watchNamespaces={a,a}"}, "watchNamespaces"},
		{"bad digest", []string{"--set", "image.digest=latest"}, "image/digest"},
		{"bad GOMEMLIMIT", []string{"--set", "goMemLimit=200Mi"}, "goMemLimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmTemplate(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("helm template %v: error %v, want one containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}
