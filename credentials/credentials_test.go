package credentials

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestProjectRefuses(t *testing.T) {
	ok := Credential{Name: "github", SecretName: "gh", Key: "token", Env: "GITHUB_TOKEN"}
	with := func(mut func(*Credential)) []Credential {
		c := ok
		mut(&c)
		return []Credential{c}
	}
	cases := []struct {
		name  string
		creds []Credential
		opts  Options
		is    error
		want  string
	}{
		{"no name", with(func(c *Credential) { c.Name = "" }), stagingOpts, ErrInvalid, `credentials: credentials[0].name: Required value`},
		{"bad secret name", with(func(c *Credential) { c.SecretName = "GH_token" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].secretName: Invalid value: "GH_token" is not a valid Secret name`},
		{"bad key", with(func(c *Credential) { c.Key = "../token" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].key: Invalid value: "../token" is not a valid Secret key`},
		{"key without target", with(func(c *Credential) { c.Env = "" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].key: Invalid value: needs env or mountPath`},
		{"env without key", with(func(c *Credential) { c.Key = "" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].env: Invalid value: needs key (a whole Secret becomes variables through envPrefix)`},
		{"env HOME", with(func(c *Credential) { c.Env = "HOME" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].env: Forbidden: "HOME" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)`},
		{"env PATH", with(func(c *Credential) { c.Env = "PATH" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].env: Forbidden: "PATH" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)`},
		{"env WORKSPACE_DIR", with(func(c *Credential) { c.Env = "WORKSPACE_DIR" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].env: Forbidden: "WORKSPACE_DIR" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)`},
		{"env TASK_", with(func(c *Credential) { c.Env = "TASK_ID" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].env: Forbidden: "TASK_ID" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)`},
		{"env OPENCODE_CONFIG_CONTENT", with(func(c *Credential) { c.Env = "OPENCODE_CONFIG_CONTENT" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].env: Forbidden: "OPENCODE_CONFIG_CONTENT" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)`},
		{"env OPENCODE_PID", with(func(c *Credential) { c.Env = "OPENCODE_PID" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].env: Forbidden: "OPENCODE_PID" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)`},
		{"env KUBEOPENCODE_", with(func(c *Credential) { c.Env = "KUBEOPENCODE_X" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].env: Forbidden: "KUBEOPENCODE_X" is reserved (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*)`},
		{"env not identifier", with(func(c *Credential) { c.Env = "GITHUB-TOKEN" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].env: Invalid value: "GITHUB-TOKEN" is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)`},
		{"env starts with digit", with(func(c *Credential) { c.Env = "1TOKEN" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].env: Invalid value: "1TOKEN" is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)`},
		{"whole env without prefix", with(func(c *Credential) { c.Key, c.Env = "", "" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].envPrefix: Invalid value: is required when the whole Secret "gh" becomes environment variables: its keys could name reserved variables (or set Options.AllowUnprefixedEnvFrom)`},
		{"prefix forms TASK_", with(func(c *Credential) { c.Key, c.Env, c.EnvPrefix = "", "", "TAS" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].envPrefix: Forbidden: "TAS" could form a reserved name (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*, OPENCODE_*)`},
		{"prefix forms PATH", with(func(c *Credential) { c.Key, c.Env, c.EnvPrefix = "", "", "P" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].envPrefix: Forbidden: "P" could form a reserved name (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*, OPENCODE_*)`},
		{"prefix inside OPENCODE_", with(func(c *Credential) { c.Key, c.Env, c.EnvPrefix = "", "", "OPENCODE_X_" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].envPrefix: Forbidden: "OPENCODE_X_" could form a reserved name (HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_*, KUBEOPENCODE_*, OPENCODE_*)`},
		{"prefix with key", with(func(c *Credential) { c.EnvPrefix = "GH_" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].envPrefix: Invalid value: applies only to a whole Secret exposed as environment variables (no key, no mountPath)`},
		{"fileMode without mountPath", with(func(c *Credential) { c.FileMode = mode(0o400) }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].fileMode: Invalid value: needs mountPath`},
		{"mountPath not clean", with(func(c *Credential) { c.MountPath = "/home/agent/../../etc/shadow" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].mountPath: Invalid value: "/home/agent/../../etc/shadow" must be clean (no ".", "..", "//" or trailing "/")`},
		{"mountPath relative", with(func(c *Credential) { c.MountPath = ".ssh/id_rsa" }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].mountPath: Invalid value: ".ssh/id_rsa" must be an absolute path`},
		{"mountPath in tools", with(func(c *Credential) { c.MountPath = "/tools/opencode" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].mountPath: Forbidden: "/tools/opencode" overlaps the reserved path "/tools"`},
		{"mountPath above token", with(func(c *Credential) { c.MountPath = "/var/run/secrets" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].mountPath: Forbidden: "/var/run/secrets" overlaps the reserved path "/var/run/secrets/kubernetes.io"`},
		{"mountPath internal", with(func(c *Credential) { c.MountPath = "/kubeopencode/x" }), stagingOpts, ErrReserved,
			`credentials: credentials[github].mountPath: Forbidden: "/kubeopencode/x" overlaps the reserved path "/kubeopencode"`},
		{"group-writable mode", with(func(c *Credential) { c.MountPath, c.FileMode = "/home/agent/.token", mode(0o660) }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].fileMode: Invalid value: 0660 must be within 0000-0777 without group or other write bits`},
		{"setuid mode", with(func(c *Credential) { c.MountPath, c.FileMode = "/home/agent/.token", mode(0o4700) }), stagingOpts, ErrInvalid,
			`credentials: credentials[github].fileMode: Invalid value: 04700 must be within 0000-0777 without group or other write bits`},
		{"duplicate name", []Credential{ok, ok}, stagingOpts, ErrConflict, `credentials: credentials[github].name: Duplicate value: is used by two credentials`},
		{"duplicate env", []Credential{ok, {Name: "other", SecretName: "o", Key: "k", Env: "GITHUB_TOKEN"}}, stagingOpts, ErrConflict,
			`credentials: credentials[other].env: Duplicate value: "GITHUB_TOKEN" is also set by credential "github"`},
		{"same mountPath", []Credential{
			{Name: "a", SecretName: "a", Key: "k", MountPath: "/home/agent/.ssh/id_rsa"},
			{Name: "b", SecretName: "b", Key: "k", MountPath: "/home/agent/.ssh/id_rsa"},
		}, stagingOpts, ErrConflict, `credentials: credentials[b].mountPath: Duplicate value: "/home/agent/.ssh/id_rsa" collides with or nests in "/home/agent/.ssh/id_rsa" of credential "a"`},
		{"nested mountPaths", []Credential{
			{Name: "dir", SecretName: "a", MountPath: "/home/agent/.ssh"},
			{Name: "file", SecretName: "b", Key: "k", MountPath: "/home/agent/.ssh/known_hosts"},
		}, stagingOpts, ErrConflict, `credentials: credentials[file].mountPath: Duplicate value: "/home/agent/.ssh/known_hosts" collides with or nests in "/home/agent/.ssh" of credential "dir"`},
		{"no staging image", with(func(c *Credential) { c.MountPath = "/home/agent/.token" }), Options{StagingCommand: []string{"x"}}, ErrInvalid,
			`credentials: Options.StagingImage: Invalid value: is required for file credentials (credential "github")`},
		{"no staging command", with(func(c *Credential) { c.MountPath = "/home/agent/.token" }), Options{StagingImage: "x"}, ErrInvalid,
			`credentials: Options.StagingCommand: Invalid value: is required for file credentials (credential "github")`},
		{"negative uid", []Credential{ok}, Options{UID: -1}, ErrInvalid, `credentials: Options.UID: Invalid value: -1 is outside 1..2147483647`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Project(tc.creds, tc.opts)
			if err == nil {
				t.Fatalf("Project succeeded, want %q", tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, tc.is) {
				t.Errorf("err = %#v, want an *Error wrapping %v", err, tc.is)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProjectReportsEveryProblem: three independent problems, in two credentials and the
// Options, are all reported with their field paths.
func TestProjectReportsEveryProblem(t *testing.T) {
	_, err := Project([]Credential{
		{Name: "a", SecretName: "s", Key: "k", Env: "HOME"},                     // reserved
		{Name: "b", SecretName: "s", Key: "k", MountPath: "/home/agent/../etc"}, // invalid
	}, Options{UID: -1}) // invalid
	var es *Errors
	if !errors.As(err, &es) {
		t.Fatalf("Project = %v, want *Errors", err)
	}
	var got []string
	for _, p := range es.Problems {
		var fe *Error
		if !errors.As(p, &fe) {
			t.Fatalf("problem %T is not a field error", p)
		}
		got = append(got, fe.Field+" "+string(fe.Type))
	}
	want := []string{"Options.UID FieldValueInvalid", "credentials[a].env FieldValueForbidden", "credentials[b].mountPath FieldValueInvalid"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrReserved) || errors.Is(err, ErrConflict) {
		t.Errorf("categories of %v are wrong", err)
	}
}

func TestUnprefixedEnvFromNeedsExplicitOption(t *testing.T) {
	c := []Credential{{Name: "all", SecretName: "all"}}
	p, err := Project(c, Options{AllowUnprefixedEnvFrom: true})
	if err != nil {
		t.Fatal(err)
	}
	pod := basePod(DefaultUID, DefaultGID)
	if err := p.Apply(&pod.Spec, "agent"); err != nil {
		t.Fatal(err)
	}
	want := []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "all"}}}}
	if diff := cmp.Diff(want, pod.Spec.Containers[0].EnvFrom); diff != "" {
		t.Errorf("envFrom (-want +got):\n%s", diff)
	}
}

func TestApplyRefuses(t *testing.T) {
	file := Credential{Name: "ssh", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: mode(0o400)}
	env := Credential{Name: "github", SecretName: "gh", Key: "token", Env: "GITHUB_TOKEN"}
	cases := []struct {
		name       string
		creds      []Credential
		mutate     func(*corev1.PodSpec)
		containers []string
		is         error
		want       string
	}{
		{"no containers", []Credential{env}, nil, nil, ErrInvalid,
			`credentials: containerNames: Required value: name at least one container to receive the credentials`},
		{"unknown container", []Credential{env}, nil, []string{"agnet"}, ErrInvalid,
			`credentials: containerNames[0]: Invalid value: the PodSpec has no container "agnet"`},
		{"container named twice", []Credential{env}, nil, []string{"agent", "agent"}, ErrInvalid,
			`credentials: containerNames[1]: Invalid value: container "agent" is named twice`},
		{"env already set", []Credential{env}, func(ps *corev1.PodSpec) {
			ps.Containers[0].Env = append(ps.Containers[0].Env, corev1.EnvVar{Name: "GITHUB_TOKEN", Value: "x"})
		}, nil, ErrConflict, `credentials: credentials[github].env: Duplicate value: "GITHUB_TOKEN" is already set in container "agent"`},
		{"agent runs as root", []Credential{file}, func(ps *corev1.PodSpec) {
			ps.Containers[0].SecurityContext.RunAsUser = ptr(int64(0))
		}, nil, ErrConflict, `credentials: PodSpec.containers[agent].runAsUser: Duplicate value: is 0, but staged credential files are owned by UID 65532 and readable by no other`},
		{"agent user unknown", []Credential{file}, func(ps *corev1.PodSpec) {
			ps.Containers[0].SecurityContext.RunAsUser = nil
			ps.SecurityContext.RunAsUser = nil
		}, nil, ErrConflict, `credentials: PodSpec.containers[agent].runAsUser: Duplicate value: is unset (the image's user), but staged credential files are owned by UID 65532 and readable by no other`},
		{"other fsGroup", []Credential{file}, func(ps *corev1.PodSpec) { ps.SecurityContext.FSGroup = ptr(int64(1)) }, nil, ErrConflict,
			`credentials: PodSpec.securityContext.fsGroup: Duplicate value: is 1, but file credentials need the agent GID 65532`},
		{"applied twice", []Credential{file}, func(ps *corev1.PodSpec) {
			ps.InitContainers = append(ps.InitContainers, corev1.Container{Name: StagingContainerName})
		}, nil, ErrConflict, `credentials: PodSpec.initContainers[stage-credentials]: Duplicate value: already exists (was the projection applied twice?)`},
		{"volume name taken", []Credential{file}, func(ps *corev1.PodSpec) {
			ps.Volumes = append(ps.Volumes, corev1.Volume{Name: StagedVolumeName})
		}, nil, ErrConflict, `credentials: PodSpec.volumes[staged-credentials]: Duplicate value: already exists`},
		{"mountPath taken", []Credential{file}, func(ps *corev1.PodSpec) {
			ps.Containers[0].VolumeMounts = append(ps.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "tmp", MountPath: "/home/agent/.ssh/id_ed25519"})
		}, nil, ErrConflict, `credentials: credentials[ssh].mountPath: Duplicate value: "/home/agent/.ssh/id_ed25519" is already used in container "agent" by volume "tmp"`},
		{"credential inside a read-only mount", []Credential{file}, func(ps *corev1.PodSpec) {
			ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "ssh-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}})
			ps.Containers[0].VolumeMounts = append(ps.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "ssh-config", MountPath: "/home/agent/.ssh"})
		}, nil, ErrConflict, `credentials: credentials[ssh].mountPath: Duplicate value: "/home/agent/.ssh/id_ed25519" would shadow part of the mount "/home/agent/.ssh" (volume "ssh-config") in container "agent", which is not a writable emptyDir`},
		{"credential shadows a mount", []Credential{{Name: "dir", SecretName: "s", MountPath: "/home/agent/.config"}}, func(ps *corev1.PodSpec) {
			ps.Containers[0].VolumeMounts = append(ps.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "tmp", MountPath: "/home/agent/.config/app"})
		}, nil, ErrConflict, `credentials: credentials[dir].mountPath: Duplicate value: "/home/agent/.config" would shadow the mount "/home/agent/.config/app" (volume "tmp") in container "agent"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Project(tc.creds, stagingOpts)
			if err != nil {
				t.Fatal(err)
			}
			pod := basePod(DefaultUID, DefaultGID)
			if tc.mutate != nil {
				tc.mutate(&pod.Spec)
			}
			before := pod.DeepCopy()
			containers := tc.containers
			if containers == nil && tc.name != "no containers" {
				containers = []string{"agent"}
			}
			err = p.Apply(&pod.Spec, containers...)
			if err == nil {
				t.Fatalf("Apply succeeded, want %q", tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, tc.is) {
				t.Errorf("err = %#v, want an *Error wrapping %v", err, tc.is)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, pod); diff != "" {
				t.Errorf("a failed Apply changed the PodSpec:\n%s", diff)
			}
		})
	}
}

// TestApplyOnlyNamedContainers: init containers that are not named get neither env nor mounts,
// and the Secret volumes are mounted into the staging container only.
func TestApplyOnlyNamedContainers(t *testing.T) {
	var sc scenario
	for _, s := range goldenScenarios() {
		if s.name == "matrix" {
			sc = s
		}
	}
	pod := sc.build(t)
	secretVolumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = true
			if *v.Secret.DefaultMode != 0o440 {
				t.Errorf("Secret volume %q has defaultMode %#o", v.Name, *v.Secret.DefaultMode)
			}
		}
	}
	if len(secretVolumes) != 3 {
		t.Fatalf("want 3 Secret volumes, got %v", secretVolumes)
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		named := c.Name == "agent" || c.Name == "git-clone"
		hasCreds := len(c.EnvFrom) > 0
		for _, e := range c.Env {
			hasCreds = hasCreds || e.ValueFrom != nil
		}
		for _, m := range c.VolumeMounts {
			hasCreds = hasCreds || m.Name == StagedVolumeName && c.Name != StagingContainerName
			if secretVolumes[m.Name] && c.Name != StagingContainerName {
				t.Errorf("container %q mounts the Secret volume %q", c.Name, m.Name)
			}
			if m.Name == StagedVolumeName && c.Name != StagingContainerName && !m.ReadOnly {
				t.Errorf("container %q mounts the staged credentials writable", c.Name)
			}
		}
		if named != hasCreds {
			t.Errorf("container %q: named=%v but has credentials=%v", c.Name, named, hasCreds)
		}
	}
	if pod.Spec.InitContainers[0].Name != StagingContainerName {
		t.Errorf("the staging container must run first, got %q", pod.Spec.InitContainers[0].Name)
	}
}

// TestUpstreamEnvNamesAccepted: names the operator and OpenCode do not set, OPENCODE_API_KEY of
// upstream KubeOpenCode's README among them, are accepted; the ones they set are not (T10).
func TestUpstreamEnvNamesAccepted(t *testing.T) {
	for name, reserved := range map[string]bool{
		"OPENCODE_API_KEY": false, "ANTHROPIC_API_KEY": false, "OPENCODE_CONFIG": false, "AGENTS": false,
		"OPENCODE_CONFIG_CONTENT": true, "OPENCODE": true, "OPENCODE_PID": true, "AGENT": true, "TASK_UID": true,
		"KUBEOPENCODE_AGENT_NAME": true, "WORKSPACE_DIR": true, "HOME": true,
	} {
		_, err := Project([]Credential{{Name: "c", SecretName: "s", Key: "k", Env: name}}, stagingOpts)
		if got := errors.Is(err, ErrReserved); got != reserved {
			t.Errorf("env %s: refused as reserved %v (%v), want %v", name, got, err, reserved)
		}
		if !reserved && err != nil {
			t.Errorf("env %s: %v", name, err)
		}
	}
}
