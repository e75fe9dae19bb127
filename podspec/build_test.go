package podspec

import (
	"errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

type errProjection struct{ err error }

func (p errProjection) Apply(*corev1.PodSpec, ...string) error { return p.err }

// projectionFunc adapts a function to Projection.
type projectionFunc func(*corev1.PodSpec, ...string) error

func (f projectionFunc) Apply(ps *corev1.PodSpec, names ...string) error { return f(ps, names...) }

type sentinelError struct{ credential string }

func (e *sentinelError) Error() string { return "credential " + e.credential + " is broken" }

func TestBuildRefuses(t *testing.T) {
	cm := func(name string) corev1.VolumeSource {
		return corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}
	}
	withMount := func(path string) func(*Spec) {
		return func(s *Spec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "extra", VolumeSource: cm("extra")})
			s.VolumeMounts = append(s.VolumeMounts, corev1.VolumeMount{Name: "extra", MountPath: path})
		}
	}
	cases := []struct {
		name   string
		mutate func(*Spec)
		is     error
		want   string
	}{
		{"no owner uid", func(s *Spec) { s.Identity.OwnerUID = "" }, ErrInvalid,
			`podspec: Identity.OwnerUID: Required value`},
		{"no owner name", func(s *Spec) { s.Identity.OwnerName = "" }, ErrInvalid,
			`podspec: Identity.OwnerName: Required value`},
		{"bad namespace", func(s *Spec) { s.Namespace = "Team_A" }, ErrInvalid,
			`podspec: Namespace: Invalid value: "Team_A" is not a DNS label`},
		{"no agent image", func(s *Spec) { s.AgentImage = "" }, ErrInvalid,
			`podspec: AgentImage: Required value`},
		{"image with space", func(s *Spec) { s.ExecutorImage = "busybox latest" }, ErrInvalid,
			`podspec: ExecutorImage: Invalid value: image reference "busybox latest" contains whitespace or control characters`},
		{"no command", func(s *Spec) { s.Command = nil }, ErrInvalid, `podspec: Command: Required value: Command[0], the program, must not be empty`},
		{"empty program", func(s *Spec) { s.Command = []string{"", "run"} }, ErrInvalid, `podspec: Command: Required value: Command[0], the program, must not be empty`},
		{"zero workspace size limit", func(s *Spec) { s.WorkspaceSizeLimit = ptr(resource.MustParse("0")) }, ErrInvalid, `podspec: WorkspaceSizeLimit: Invalid value: 0 must be greater than zero`},
		{"negative uid", func(s *Spec) { s.UID = -5 }, ErrInvalid, `podspec: UID: Invalid value: -5 is outside 1..2147483647`},
		{"negative deadline", func(s *Spec) { s.Deadline = -1 }, ErrInvalid, `podspec: Deadline: Invalid value: must not be negative`},
		{"reserved label", func(s *Spec) { s.Labels = map[string]string{LabelTaskUID: "other"} }, ErrReserved,
			`podspec: Labels[kubeopencode.io/task-uid]: Forbidden: label key "kubeopencode.io/task-uid" is reserved for the platform`},
		{"reserved label subdomain", func(s *Spec) { s.Labels = map[string]string{"x.kubeopencode.io/y": "z"} }, ErrReserved,
			`podspec: Labels[x.kubeopencode.io/y]: Forbidden: label key "x.kubeopencode.io/y" is reserved for the platform`},
		{"reserved managed-by", func(s *Spec) { s.Labels = map[string]string{LabelManagedBy: "me"} }, ErrReserved,
			`podspec: Labels[app.kubernetes.io/managed-by]: Forbidden: label key "app.kubernetes.io/managed-by" is reserved for the platform`},
		{"reserved annotation any case", func(s *Spec) { s.Annotations = map[string]string{"KubeOpenCode.IO/agent": "x"} }, ErrReserved,
			`podspec: Annotations[KubeOpenCode.IO/agent]: Forbidden: annotation key "KubeOpenCode.IO/agent" is reserved for the platform`},
		{"invalid label value", func(s *Spec) { s.Labels = map[string]string{"team": "a b"} }, ErrInvalid,
			`podspec: Labels[team]: Invalid value: label value "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"env HOME", func(s *Spec) { s.Env = []corev1.EnvVar{{Name: "HOME", Value: "/root"}} }, ErrReserved,
			`podspec: Env[0].Name: Forbidden: "HOME" is set by podspec`},
		{"env not identifier", func(s *Spec) { s.Env = []corev1.EnvVar{{Name: "MY-VAR"}} }, ErrInvalid,
			`podspec: Env[0].Name: Invalid value: "MY-VAR" is not a C identifier`},
		{"env duplicate", func(s *Spec) { s.Env = []corev1.EnvVar{{Name: "A"}, {Name: "A"}} }, ErrConflict,
			`podspec: containers[agent].env: Duplicate value: environment variable "A" is set twice`},
		{"file path traverses", func(s *Spec) {
			s.Files = []File{{Path: "/workspace/../etc/passwd", ConfigMap: "c", Key: "k"}}
		}, ErrInvalid, `podspec: Files[0].Path: Invalid value: "/workspace/../etc/passwd" must be clean (no ".", "..", "//" or trailing "/")`},
		{"file path relative", func(s *Spec) { s.Files = []File{{Path: "workspace/x", ConfigMap: "c", Key: "k"}} }, ErrInvalid,
			`podspec: Files[0].Path: Invalid value: "workspace/x" must be an absolute path`},
		{"file path trailing slash", func(s *Spec) { s.Files = []File{{Path: "/etc/x/", ConfigMap: "c", Key: "k"}} }, ErrInvalid,
			`podspec: Files[0].Path: Invalid value: "/etc/x/" must be clean (no ".", "..", "//" or trailing "/")`},
		{"file mode", func(s *Spec) { s.Files = []File{{Path: "/etc/x", ConfigMap: "c", Key: "k", Mode: 0o4755}} }, ErrInvalid,
			`podspec: Files[0].Mode: Invalid value: 04755 is outside 0..0777`},
		{"file with two sources", func(s *Spec) {
			s.Files = []File{{Path: "/workspace/task.md", ConfigMap: "c", Key: "k", FieldPath: "metadata.name"}}
		}, ErrInvalid, `podspec: Files[0].FieldPath: Invalid value: excludes ConfigMap and Key: a file has one source`},
		{"file from a spec field", func(s *Spec) {
			s.Files = []File{{Path: "/workspace/task.md", FieldPath: "spec.nodeName"}}
		}, ErrInvalid, `podspec: Files[0].FieldPath: Invalid value: "spec.nodeName" is not a downward API field of the Pod's metadata`},
		{"file from a malformed annotation path", func(s *Spec) {
			s.Files = []File{{Path: "/workspace/task.md", FieldPath: "metadata.annotations['a']['b']"}}
		}, ErrInvalid, `podspec: Files[0].FieldPath: Invalid value: "metadata.annotations['a']['b']" is not a downward API field of the Pod's metadata`},
		{"two files same path", func(s *Spec) {
			s.Files = []File{{Path: "/etc/x", ConfigMap: "a", Key: "k"}, {Path: "/etc/x", ConfigMap: "b", Key: "k"}}
		}, ErrConflict, `podspec: Files[1].Path: Duplicate value: "/etc/x" is already used by Files[0]`},
		{"mount over HOME", withMount("/home/agent"), ErrConflict,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Duplicate value: "/home/agent" is already used by volume "home"`},
		{"mount inside tools", withMount("/tools/opencode"), ErrReserved,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Forbidden: "/tools/opencode" is inside the reserved path "/tools"`},
		{"mount at task.md", withMount("/workspace/task.md"), ErrReserved,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Forbidden: "/workspace/task.md" is inside the reserved path "/workspace/task.md"`},
		{"mount in .kubeopencode", withMount("/workspace/.kubeopencode"), ErrReserved,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Forbidden: "/workspace/.kubeopencode" is inside the reserved path "/workspace/.kubeopencode"`},
		{"mount in internal dir", withMount("/kubeopencode/credentials"), ErrReserved,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Forbidden: "/kubeopencode/credentials" is inside the reserved path "/kubeopencode"`},
		{"mount above token dir", withMount("/var/run"), ErrReserved,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Forbidden: "/var/run" would contain the reserved path "/var/run/secrets/kubernetes.io"`},
		{"mount in proc", withMount("/proc/self"), ErrReserved,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Forbidden: "/proc/self" is inside the reserved path "/proc"`},
		{"mount at root", withMount("/"), ErrInvalid,
			`podspec: containers[agent].volumeMounts[extra].mountPath: Invalid value: "/" must not be the root directory`},
		{"volume shadows file", func(s *Spec) {
			withMount("/etc/app")(s)
			s.Files = []File{{Path: "/etc/app/config.yaml", ConfigMap: "c", Key: "k"}}
		}, ErrConflict, `podspec: containers[agent].volumeMounts[file-etc-app-config-yaml-oipxgb5cxzmy].mountPath: Duplicate value: "/etc/app/config.yaml" would shadow part of the mount of volume "extra" at "/etc/app"`},
		{"file shadows volume", func(s *Spec) {
			s.Files = []File{{Path: "/etc/app", ConfigMap: "c", Key: "k"}}
			withMount("/etc/app/conf.d")(s)
		}, ErrConflict, `podspec: containers[agent].volumeMounts[extra].mountPath: Duplicate value: "/etc/app/conf.d" would shadow part of the mount of volume "file-etc-app-7ij6qebi7u4b" at "/etc/app"`},
		{"workspace in tools", func(s *Spec) { s.WorkspaceDir = "/tools/ws" }, ErrReserved,
			`podspec: WorkspaceDir: Forbidden: "/tools/ws" (the workspace) overlaps the reserved path "/tools"`},
		{"workspace is proc", func(s *Spec) { s.WorkspaceDir = "/proc" }, ErrReserved,
			`podspec: containers[agent].volumeMounts[workspace].mountPath: Forbidden: "/proc" is inside the reserved path "/proc"`},
		{"workspace is tmp", func(s *Spec) { s.WorkspaceDir = "/tmp" }, ErrConflict,
			`podspec: containers[agent].volumeMounts[workspace].mountPath: Duplicate value: "/tmp" is already used by volume "tmp"`},
		{"subPath escapes", func(s *Spec) {
			withMount("/etc/app")(s)
			s.VolumeMounts[0].SubPath = "../x"
		}, ErrInvalid, `podspec: containers[agent].volumeMounts[extra].mountPath: Invalid value: "/etc/app": subPath "../x" must not leave the volume ("..")`},
		{"subPathExpr", func(s *Spec) {
			withMount("/etc/app")(s)
			s.VolumeMounts[0].SubPathExpr = "$(POD)"
		}, ErrInvalid, `podspec: containers[agent].volumeMounts[extra].mountPath: Invalid value: "/etc/app": subPathExpr is not allowed: its expansion cannot be checked`},
		{"bidirectional", func(s *Spec) {
			withMount("/etc/app")(s)
			s.VolumeMounts[0].MountPropagation = ptr(corev1.MountPropagationBidirectional)
		}, ErrInvalid, `podspec: containers[agent].volumeMounts[extra].mountPath: Invalid value: "/etc/app": mount propagation Bidirectional is not allowed`},
		{"unknown volume", func(s *Spec) { s.VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}} }, ErrInvalid,
			`podspec: containers[agent].volumeMounts[nope].mountPath: Invalid value: "/x": there is no volume "nope"`},
		{"hostPath volume", func(s *Spec) {
			s.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}, ErrInvalid, `podspec: volumes[host]: Invalid value: volume "host": only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes are allowed (Pod Security restricted)`},
		{"volume named tools", func(s *Spec) { s.Volumes = []corev1.Volume{{Name: "tools", VolumeSource: cm("x")}} }, ErrConflict,
			`podspec: volumes[tools]: Duplicate value: volume name "tools" is used twice (names podspec uses: tools, home, tmp, workspace, file-*)`},
		{"container named agent", func(s *Spec) { s.InitContainers = []corev1.Container{{Name: "agent", Image: "x"}} }, ErrConflict,
			`podspec: containers[agent]: Duplicate value: container name "agent" is used twice (names podspec uses: agent, agent-init)`},
		{"container name invalid", func(s *Spec) { s.Sidecars = []corev1.Container{{Name: "Proxy", Image: "x"}} }, ErrInvalid,
			`podspec: containers[Proxy]: Invalid value: container name "Proxy" is not a DNS label`},
		{"host port", func(s *Spec) {
			s.Sidecars = []corev1.Container{{Name: "proxy", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}}}
		}, ErrInvalid, `podspec: containers[proxy].ports: Invalid value: host ports are not allowed (port 80)`},
		{"probe host", func(s *Spec) {
			s.Sidecars = []corev1.Container{{Name: "proxy", Image: "x", LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				TCPSocket: &corev1.TCPSocketAction{Host: "169.254.169.254"}}}}}
		}, ErrInvalid, `podspec: containers[proxy]: Invalid value: probes and lifecycle handlers may not set a host ("169.254.169.254")`},
		{"init container mounts proc", func(s *Spec) {
			s.InitContainers = []corev1.Container{{Name: "init", Image: "x",
				VolumeMounts: []corev1.VolumeMount{{Name: TmpVolumeName, MountPath: "/proc"}}}}
		}, ErrReserved, `podspec: containers[init].volumeMounts[tmp].mountPath: Forbidden: "/proc" is inside the reserved path "/proc"`},
		{"project into unknown", func(s *Spec) { s.ProjectInto = []string{"agent-init"} }, ErrInvalid,
			`podspec: ProjectInto[0]: Invalid value: "agent-init" is not the name of one of InitContainers or Sidecars`},
		{"nil projection", func(s *Spec) { s.Projections = []Projection{nil} }, ErrInvalid,
			`podspec: Projections[0]: Required value: is nil`},
		{"projection env shadows HOME", func(s *Spec) {
			s.Projections = []Projection{projectionFunc(func(ps *corev1.PodSpec, _ ...string) error {
				ps.Containers[0].Env = append(ps.Containers[0].Env, corev1.EnvVar{Name: "HOME", Value: "/root"})
				return nil
			})}
		}, ErrConflict, `podspec: containers[agent].env: Duplicate value: environment variable "HOME" is set twice`},
		{"projection mount in tools", func(s *Spec) {
			s.Projections = []Projection{projectionFunc(func(ps *corev1.PodSpec, _ ...string) error {
				ps.Containers[0].VolumeMounts = append(ps.Containers[0].VolumeMounts,
					corev1.VolumeMount{Name: HomeVolumeName, MountPath: "/tools/opencode"})
				return nil
			})}
		}, ErrReserved, `podspec: containers[agent].volumeMounts[home].mountPath: Forbidden: "/tools/opencode" is inside the reserved path "/tools"`},
		{"projection shadows a context file", func(s *Spec) {
			s.Files = []File{{Path: "/home/agent/.ssh/known_hosts", ConfigMap: "c", Key: "k"}}
			s.Projections = []Projection{projectionFunc(func(ps *corev1.PodSpec, _ ...string) error {
				ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "cred", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
				ps.Containers[0].VolumeMounts = append(ps.Containers[0].VolumeMounts,
					corev1.VolumeMount{Name: "cred", MountPath: "/home/agent/.ssh", ReadOnly: true})
				return nil
			})}
		}, ErrConflict, `podspec: containers[agent].volumeMounts[file-home-agent-ssh-known-hosts-kouvi4m4eblt].mountPath: Duplicate value: "/home/agent/.ssh/known_hosts" would shadow part of the mount of volume "cred" at "/home/agent/.ssh"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSpec()
			tc.mutate(&s)
			pod, err := Build(s)
			if err == nil {
				t.Fatalf("Build succeeded, want error %q; pod: %v", tc.want, pod.Name)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tc.is, err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error message (-want +got):\n%s", diff)
			}
			var fe *FieldError
			var es *Errors
			if !errors.As(err, &fe) || !errors.As(err, &es) || len(es.Problems) != 1 {
				t.Errorf("error %T is not one *FieldError in *Errors", err)
			}
			// A path conflict names both paths (or says the one path is already used).
			if IsPathConflict(err) && strings.Count(fe.Detail, `"/`) < 2 && !strings.Contains(fe.Detail, "is already used by") {
				t.Errorf("path conflict must name both paths: %+v", fe)
			}
		})
	}
}

// TestBuildReportsEveryProblem: three independent problems of a Spec are all reported, each with
// its field path and category.
func TestBuildReportsEveryProblem(t *testing.T) {
	s := baseSpec()
	s.Namespace = "Team_A"                                       // invalid
	s.Labels = map[string]string{LabelAgent: "mine"}             // reserved
	s.Files = []File{{Path: "/etc/x", ConfigMap: "c", Key: "k"}, // conflict
		{Path: "/etc/x", ConfigMap: "c", Key: "k"}}
	_, err := Build(s)
	var es *Errors
	if !errors.As(err, &es) {
		t.Fatalf("Build = %v, want *Errors", err)
	}
	type problem struct{ Field, Type string }
	var got []problem
	for _, p := range es.Problems {
		var fe *FieldError
		if !errors.As(p, &fe) {
			t.Fatalf("problem %T is not a *FieldError", p)
		}
		got = append(got, problem{fe.Field, string(fe.Type)})
	}
	want := []problem{
		{"Namespace", "FieldValueInvalid"},
		{"Labels[kubeopencode.io/agent]", "FieldValueForbidden"},
		{"Files[1].Path", "FieldValueDuplicate"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	for _, c := range []error{ErrInvalid, ErrReserved, ErrConflict} {
		if !errors.Is(err, c) {
			t.Errorf("errors.Is(err, %v) = false", c)
		}
	}
	if !IsPathConflict(err) {
		t.Error("IsPathConflict = false for two files at one path")
	}
}

// TestBuildReportsEachIndependentProblem: for every subset of five independent problems, Build
// reports exactly that subset, in the order of the Spec's fields.
func TestBuildReportsEachIndependentProblem(t *testing.T) {
	problems := []struct {
		field  string
		mutate func(*Spec)
	}{
		{"Namespace", func(s *Spec) { s.Namespace = "-x" }},
		{"AgentImage", func(s *Spec) { s.AgentImage = "" }},
		{"Labels[kubeopencode.io/x]", func(s *Spec) { s.Labels = map[string]string{"kubeopencode.io/x": "y"} }},
		{"Env[0].Name", func(s *Spec) { s.Env = []corev1.EnvVar{{Name: "WORKSPACE_DIR"}} }},
		{"Files[0].Mode", func(s *Spec) { s.Files = []File{{Path: "/etc/x", ConfigMap: "c", Key: "k", Mode: -1}} }},
	}
	for set := 1; set < 1<<len(problems); set++ {
		s := baseSpec()
		var want []string
		for i, p := range problems {
			if set&(1<<i) != 0 {
				p.mutate(&s)
				want = append(want, p.field)
			}
		}
		_, err := Build(s)
		var es *Errors
		if !errors.As(err, &es) {
			t.Fatalf("set %05b: Build = %v, want *Errors", set, err)
		}
		var got []string
		for _, p := range es.Problems {
			got = append(got, p.(*FieldError).Field)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("set %05b: problems (-want +got):\n%s", set, d)
		}
	}
}

func TestProjectionErrorIsWrapped(t *testing.T) {
	s := baseSpec()
	s.Projections = []Projection{errProjection{&sentinelError{credential: "github"}}}
	_, err := Build(s)
	var se *sentinelError
	if !errors.As(err, &se) || se.credential != "github" {
		t.Fatalf("errors.As(%v, *sentinelError) failed", err)
	}
	if want := "podspec: Projections[0]: credential github is broken"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestProjectionTargets(t *testing.T) {
	s := fullSpec()
	s.ProjectInto = []string{"git-clone"}
	var got []string
	s.Projections = []Projection{projectionFunc(func(ps *corev1.PodSpec, names ...string) error {
		got = names
		// A projection sees the final users: credentials relies on it to check the agent UID.
		if sc := ps.Containers[0].SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1000 ||
			ps.SecurityContext == nil || *ps.SecurityContext.FSGroup != 2000 {
			t.Errorf("projection ran before hardening: %+v", sc)
		}
		return nil
	})}
	if _, err := Build(s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"agent", "git-clone"}, got); diff != "" {
		t.Errorf("projection targets (-want +got):\n%s", diff)
	}
}

// TestBuildDoesNotAlias proves the Pod shares no memory with the Spec: changing one never
// changes the other (a caller reusing its Spec for the next Task must not see the last Pod).
func TestBuildDoesNotAlias(t *testing.T) {
	s := fullSpec()
	pod, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	pod.Labels["team"] = "b"
	pod.Annotations["example.com/owner"] = "mallory"
	pod.Spec.NodeSelector["kubernetes.io/arch"] = "arm64"
	pod.Spec.Containers[0].Command[0] = "/bin/sh"
	pod.Spec.Containers[0].Env[2].Value = "changed"
	pod.Spec.InitContainers[1].Args[0] = "changed"
	pod.Spec.Volumes[len(pod.Spec.Volumes)-2].PersistentVolumeClaim.ClaimName = "changed"
	if diff := cmp.Diff(fullSpec(), s, cmp.Comparer(func(a, b Projection) bool { return a == b })); diff != "" {
		t.Errorf("Spec changed through the Pod (-want +got):\n%s", diff)
	}
	again, err := Build(fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	if again.Spec.InitContainers[1].SecurityContext == nil || s.InitContainers[0].SecurityContext.RunAsUser == nil ||
		*s.InitContainers[0].SecurityContext.RunAsUser != 0 {
		t.Errorf("Build modified the caller's container securityContext")
	}
}

// TestHardeningOnEveryContainer checks the promise container by container, on a Pod with every
// kind of container (agent, agent-init, caller init container, sidecar, projection's init).
func TestHardeningOnEveryContainer(t *testing.T) {
	s := fullSpec()
	s.Projections = []Projection{fakeProjection{}}
	pod, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	if len(all) != 5 {
		t.Fatalf("want 5 containers, got %d", len(all))
	}
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil || !*sc.RunAsNonRoot || *sc.RunAsUser != 1000 || *sc.RunAsGroup != 2000 || *sc.AllowPrivilegeEscalation ||
			*sc.Privileged || !*sc.ReadOnlyRootFilesystem || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
			!cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Errorf("container %q is not hardened: %+v", c.Name, sc)
		}
	}
	ps := pod.Spec
	if ps.HostNetwork || *ps.AutomountServiceAccountToken || *ps.EnableServiceLinks || ps.RestartPolicy != corev1.RestartPolicyNever ||
		*ps.SecurityContext.FSGroup != 2000 || *ps.ActiveDeadlineSeconds != 5401 {
		t.Errorf("pod-level defaults not applied: %+v", ps)
	}
}

// TestBuildFileFromDownwardAPI: a file whose content is a field of the Pod's own metadata is a
// read-only downwardAPI subPath mount, allowed at the reserved <workspace>/task.md.
func TestBuildFileFromDownwardAPI(t *testing.T) {
	s := baseSpec()
	const field = "metadata.annotations['example.com/prompt']"
	s.Files = []File{{Path: "/workspace/task.md", FieldPath: field}}
	pod, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	name := volumeNameForPath("file", "/workspace/task.md")
	var vol *corev1.Volume
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			vol = &pod.Spec.Volumes[i]
		}
	}
	want := &corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{{Path: "file", Mode: ptr(DefaultFileMode), FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: field}}},
	}}}
	if diff := cmp.Diff(want, vol); diff != "" {
		t.Errorf("volume (-want +got):\n%s", diff)
	}
	mount := corev1.VolumeMount{Name: name, MountPath: "/workspace/task.md", SubPath: "file", ReadOnly: true}
	if !slices.ContainsFunc(pod.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return cmp.Equal(m, mount) }) {
		t.Errorf("agent mounts %v, want %v", pod.Spec.Containers[0].VolumeMounts, mount)
	}
}

// TestResourceBounds: the scratch volumes get their size limits, and every init container without
// resources of its own (agent-init, a caller's, a Projection's) gets InitContainerResources, so a
// namespace whose ResourceQuota requires limits accepts the Pod; one with resources keeps them.
func TestResourceBounds(t *testing.T) {
	s := baseSpec()
	s.WorkspaceSizeLimit, s.HomeSizeLimit, s.TmpSizeLimit = ptr(resource.MustParse("10Gi")), ptr(resource.MustParse("2Gi")), ptr(resource.MustParse("1Gi"))
	s.InitContainerResources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	own := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}
	s.InitContainers = []corev1.Container{{Name: "plain", Image: "busybox"}, {Name: "sized", Image: "busybox", Resources: own}}
	pod, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	limits := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
			limits[v.Name] = v.EmptyDir.SizeLimit.String()
		}
	}
	if diff := cmp.Diff(map[string]string{WorkspaceVolumeName: "10Gi", HomeVolumeName: "2Gi", TmpVolumeName: "1Gi"}, limits); diff != "" {
		t.Errorf("sizeLimits (-want +got):\n%s", diff)
	}
	for _, c := range pod.Spec.InitContainers {
		want := s.InitContainerResources
		if c.Name == "sized" {
			want = own
		}
		if !equality.Semantic.DeepEqual(c.Resources, want) {
			t.Errorf("init container %s: resources %v, want %v", c.Name, c.Resources, want)
		}
	}
}
