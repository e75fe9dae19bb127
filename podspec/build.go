package podspec

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Build assembles the agent Pod described by s. It does no I/O, does not modify s, and returns
// the same Pod for the same Spec. Every error is a [*FieldError] or a [*PathConflictError] (which
// wrap ErrInvalid, ErrReserved or ErrConflict), or an error returned by a Projection, wrapped
// with its index.
func Build(s Spec) (*corev1.Pod, error) {
	b, err := newBuilder(&s)
	if err != nil {
		return nil, err
	}
	pod := b.pod()
	// Harden before the projections, so they see the final users and groups (credentials checks
	// that the containers it serves run as the agent UID), and again after them.
	b.harden(&pod.Spec)
	for i, p := range s.Projections {
		if p == nil {
			return nil, invalid(fmt.Sprintf("Projections[%d]", i), "is nil")
		}
		if err := p.Apply(&pod.Spec, b.targets...); err != nil {
			return nil, fmt.Errorf("podspec: Projections[%d]: %w", i, err)
		}
	}
	// Hardening comes after the projections, so nothing they add can weaken the Pod.
	b.harden(&pod.Spec)
	if err := b.check(&pod.Spec); err != nil {
		return nil, err
	}
	return pod, nil
}

type builder struct {
	s         *Spec
	uid, gid  int64
	workspace string
	deadline  int64
	name      string
	labels    map[string]string
	// ours holds "volume\x00path" of the mounts podspec itself adds to the agent container, with
	// their origin (system or file).
	ours    map[string]mountOrigin
	targets []string
}

func newBuilder(s *Spec) (*builder, error) {
	b := &builder{s: s, uid: s.UID, gid: s.GID, workspace: s.WorkspaceDir}
	id := s.Identity
	if id.TaskUID == "" {
		return nil, invalid("Identity.TaskUID", "is required")
	}
	if id.TaskName == "" {
		return nil, invalid("Identity.TaskName", "is required")
	}
	if !isDNSLabel(s.Namespace) {
		return nil, invalid("Namespace", "%q is not a DNS label", s.Namespace)
	}
	if b.uid == 0 {
		b.uid = DefaultUID
	}
	if b.gid == 0 {
		b.gid = DefaultGID
	}
	if b.uid < 0 || b.uid > 1<<31-1 {
		return nil, invalid("UID", "%d is outside 1..2147483647", b.uid)
	}
	if b.gid < 0 || b.gid > 1<<31-1 {
		return nil, invalid("GID", "%d is outside 1..2147483647", b.gid)
	}
	switch {
	case s.Deadline < 0:
		return nil, invalid("Deadline", "must not be negative")
	case s.Deadline == 0:
		b.deadline = int64(DefaultDeadline / time.Second)
	default:
		b.deadline = int64((s.Deadline + time.Second - 1) / time.Second)
	}
	if b.workspace == "" {
		b.workspace = DefaultWorkspaceDir
	}
	if why := CheckPath(b.workspace); why != "" {
		return nil, invalid("WorkspaceDir", "%q %s", b.workspace, why)
	}
	for _, r := range []string{ToolsDir, InternalDir} {
		if Within(b.workspace, r) || Within(r, b.workspace) {
			return nil, &PathConflictError{Container: AgentContainerName, Path: b.workspace, Other: r,
				Reason: "(the workspace) overlaps the reserved path", Err: ErrReserved}
		}
	}
	if err := checkImage("AgentImage", s.AgentImage); err != nil {
		return nil, err
	}
	if err := checkImage("ExecutorImage", s.ExecutorImage); err != nil {
		return nil, err
	}
	if len(s.Command) == 0 {
		return nil, invalid("Command", "is required")
	}
	if err := validateLabels("Labels", s.Labels); err != nil {
		return nil, err
	}
	if err := validateAnnotations("Annotations", s.Annotations); err != nil {
		return nil, err
	}
	for i, e := range s.Env {
		f := fmt.Sprintf("Env[%d].Name", i)
		switch {
		case !IsEnvName(e.Name):
			return nil, invalid(f, "%q is not a C identifier", e.Name)
		case e.Name == EnvHome || e.Name == EnvWorkspaceDir:
			return nil, reserved(f, "%q is set by podspec", e.Name)
		}
	}
	filePaths := make(map[string]int, len(s.Files))
	for i, f := range s.Files {
		field := fmt.Sprintf("Files[%d]", i)
		if j, dup := filePaths[f.Path]; dup {
			return nil, &PathConflictError{Container: AgentContainerName, Path: f.Path, Other: s.Files[j].Path,
				Reason: fmt.Sprintf("(Files[%d]) is already used by Files[%d] at", i, j), Err: ErrConflict}
		}
		filePaths[f.Path] = i
		if why := CheckPath(f.Path); why != "" {
			return nil, invalid(field+".Path", "%q %s", f.Path, why)
		}
		switch {
		case f.FieldPath != "" && (f.ConfigMap != "" || f.Key != ""):
			return nil, invalid(field+".FieldPath", "excludes ConfigMap and Key: a file has one source")
		case f.FieldPath != "":
			if !isMetadataFieldPath(f.FieldPath) {
				return nil, invalid(field+".FieldPath", "%q is not a downward API field of the Pod's metadata", f.FieldPath)
			}
		case f.ConfigMap == "":
			return nil, invalid(field+".ConfigMap", "is required")
		case f.Key == "":
			return nil, invalid(field+".Key", "is required")
		}
		if f.Mode < 0 || f.Mode > 0o777 {
			return nil, invalid(field+".Mode", "%#o is outside 0..0777", f.Mode)
		}
	}
	b.name = DNSLabel(id.TaskName, id.TaskUID)
	taskNamespace := id.TaskNamespace
	if taskNamespace == "" {
		taskNamespace = s.Namespace
	}
	b.labels = make(map[string]string, len(s.Labels)+5)
	for k, v := range s.Labels {
		b.labels[k] = v
	}
	b.labels[LabelManagedBy] = ManagedByValue
	b.labels[LabelTaskUID] = LabelValue(id.TaskUID)
	b.labels[LabelTaskName] = LabelValue(id.TaskName)
	b.labels[LabelTaskNamespace] = LabelValue(taskNamespace)
	if id.AgentName != "" {
		b.labels[LabelAgent] = LabelValue(id.AgentName)
	}
	callers := make(map[string]bool, len(s.InitContainers)+len(s.Sidecars))
	for _, c := range s.InitContainers {
		callers[c.Name] = true
	}
	for _, c := range s.Sidecars {
		callers[c.Name] = true
	}
	for i, name := range s.ProjectInto {
		if !callers[name] || name == AgentContainerName || name == AgentInitContainerName {
			return nil, invalid(fmt.Sprintf("ProjectInto[%d]", i), "%q is not the name of one of InitContainers or Sidecars", name)
		}
	}
	b.targets = append([]string{AgentContainerName}, s.ProjectInto...)
	return b, nil
}

func (b *builder) pod() *corev1.Pod {
	s := b.s
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      b.name,
			Namespace: s.Namespace,
			Labels:    b.labels,
		},
		Spec: corev1.PodSpec{
			ServiceAccountName: s.ServiceAccountName,
			ImagePullSecrets:   copySlice(s.ImagePullSecrets),
			NodeSelector:       copyMap(s.Scheduling.NodeSelector),
			PriorityClassName:  s.Scheduling.PriorityClassName,
		},
	}
	if len(s.Annotations) > 0 {
		pod.Annotations = copyMap(s.Annotations)
	}
	if s.RuntimeClassName != "" {
		pod.Spec.RuntimeClassName = ptr(s.RuntimeClassName)
	}
	for _, t := range s.Scheduling.Tolerations {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, *t.DeepCopy())
	}
	for _, t := range s.Scheduling.TopologySpreadConstraints {
		pod.Spec.TopologySpreadConstraints = append(pod.Spec.TopologySpreadConstraints, *t.DeepCopy())
	}
	if s.Scheduling.Affinity != nil {
		pod.Spec.Affinity = s.Scheduling.Affinity.DeepCopy()
	}

	emptyDir := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	pod.Spec.Volumes = []corev1.Volume{
		emptyDir(ToolsVolumeName), emptyDir(HomeVolumeName), emptyDir(TmpVolumeName), emptyDir(WorkspaceVolumeName),
	}

	agent := corev1.Container{
		Name:            AgentContainerName,
		Image:           s.ExecutorImage,
		ImagePullPolicy: s.ImagePullPolicy,
		Command:         copySlice(s.Command),
		Args:            copySlice(s.Args),
		WorkingDir:      b.workspace,
		Env: append([]corev1.EnvVar{
			{Name: EnvHome, Value: HomeDir},
			{Name: EnvWorkspaceDir, Value: b.workspace},
		}, deepCopyEnv(s.Env)...),
		VolumeMounts: []corev1.VolumeMount{
			{Name: ToolsVolumeName, MountPath: ToolsDir, ReadOnly: true},
			{Name: HomeVolumeName, MountPath: HomeDir},
			{Name: TmpVolumeName, MountPath: TmpDir},
			{Name: WorkspaceVolumeName, MountPath: b.workspace},
		},
		Resources: *s.Resources.DeepCopy(),
	}
	b.ours = make(map[string]mountOrigin, len(agent.VolumeMounts)+len(s.Files))
	for _, m := range agent.VolumeMounts {
		b.ours[m.Name+"\x00"+m.MountPath] = originSystem
	}
	for _, f := range s.Files {
		name := volumeNameForPath("file", f.Path)
		mode := f.Mode
		if mode == 0 {
			mode = DefaultFileMode
		}
		source := corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: f.ConfigMap},
			Items:                []corev1.KeyToPath{{Key: f.Key, Path: fileItemPath, Mode: ptr(mode)}},
		}}
		if f.FieldPath != "" {
			source = corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{Path: fileItemPath, Mode: ptr(mode),
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: f.FieldPath}}},
			}}
		}
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: source})
		agent.VolumeMounts = append(agent.VolumeMounts, corev1.VolumeMount{
			Name: name, MountPath: f.Path, SubPath: fileItemPath, ReadOnly: true,
		})
		b.ours[name+"\x00"+f.Path] = originFile
	}
	for _, v := range s.Volumes {
		pod.Spec.Volumes = append(pod.Spec.Volumes, *v.DeepCopy())
	}
	for _, m := range s.VolumeMounts {
		agent.VolumeMounts = append(agent.VolumeMounts, *m.DeepCopy())
	}

	pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{
		Name:            AgentInitContainerName,
		Image:           s.AgentImage,
		ImagePullPolicy: s.ImagePullPolicy,
		Command:         copySlice(s.AgentInitCommand),
		VolumeMounts: []corev1.VolumeMount{
			{Name: ToolsVolumeName, MountPath: ToolsDir},
			{Name: TmpVolumeName, MountPath: TmpDir},
		},
	})
	for _, c := range s.InitContainers {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, *c.DeepCopy())
	}
	for _, c := range s.Sidecars {
		c := *c.DeepCopy()
		c.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, c)
	}
	pod.Spec.Containers = []corev1.Container{agent}
	return pod
}

const (
	// fileItemPath is the name of a Spec.Files entry inside its ConfigMap or downward API volume.
	fileItemPath = "file"
	// contextDir is the first element of ContextFile.
	contextDir = ".kubeopencode"
)

// harden (re)sets every security-relevant field of the Pod and of each container.
func (b *builder) harden(ps *corev1.PodSpec) {
	ps.RestartPolicy = corev1.RestartPolicyNever
	ps.ActiveDeadlineSeconds = ptr(b.deadline)
	ps.AutomountServiceAccountToken = ptr(b.s.Relax.AutomountServiceAccountToken)
	ps.EnableServiceLinks = ptr(b.s.Relax.EnableServiceLinks)
	ps.HostNetwork, ps.HostPID, ps.HostIPC = false, false, false
	ps.ShareProcessNamespace = nil
	ps.HostUsers = nil
	ps.OS = &corev1.PodOS{Name: corev1.Linux}
	ps.SecurityContext = &corev1.PodSecurityContext{
		RunAsUser:      ptr(b.uid),
		RunAsGroup:     ptr(b.gid),
		RunAsNonRoot:   ptr(true),
		FSGroup:        ptr(b.gid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	for i := range ps.InitContainers {
		ps.InitContainers[i].SecurityContext = b.containerSecurityContext()
	}
	for i := range ps.Containers {
		ps.Containers[i].SecurityContext = b.containerSecurityContext()
	}
	ps.EphemeralContainers = nil
}

func (b *builder) containerSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		Privileged:               ptr(false),
		RunAsUser:                ptr(b.uid),
		RunAsGroup:               ptr(b.gid),
		RunAsNonRoot:             ptr(true),
		ReadOnlyRootFilesystem:   ptr(!b.s.Relax.WritableRootFilesystem),
		AllowPrivilegeEscalation: ptr(false),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// check validates the assembled Pod: names, volume types, mounts, ports, probes, environment.
func (b *builder) check(ps *corev1.PodSpec) error {
	volumes := make(map[string]*corev1.Volume, len(ps.Volumes))
	for i := range ps.Volumes {
		v := &ps.Volumes[i]
		f := fmt.Sprintf("Volumes[%q]", v.Name)
		if !isDNSLabel(v.Name) {
			return invalid(f, "volume name %q is not a DNS label", v.Name)
		}
		if _, dup := volumes[v.Name]; dup {
			return conflict(f, "volume name %q is used twice (names podspec uses: tools, home, tmp, workspace, file-*)", v.Name)
		}
		if !restrictedVolume(&v.VolumeSource) {
			return invalid(f, "volume %q: only configMap, csi, downwardAPI, emptyDir, ephemeral, image, "+
				"persistentVolumeClaim, projected and secret volumes are allowed (Pod Security restricted)", v.Name)
		}
		volumes[v.Name] = v
	}
	containers := make(map[string]bool, len(ps.InitContainers)+len(ps.Containers))
	all := make([]*corev1.Container, 0, len(ps.InitContainers)+len(ps.Containers))
	for i := range ps.InitContainers {
		all = append(all, &ps.InitContainers[i])
	}
	for i := range ps.Containers {
		all = append(all, &ps.Containers[i])
	}
	for _, c := range all {
		f := fmt.Sprintf("containers[%q]", c.Name)
		if !isDNSLabel(c.Name) {
			return invalid(f, "container name %q is not a DNS label", c.Name)
		}
		if containers[c.Name] {
			return conflict(f, "container name %q is used twice (names podspec uses: agent, agent-init)", c.Name)
		}
		containers[c.Name] = true
		if err := b.checkContainer(c, volumes); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) checkContainer(c *corev1.Container, volumes map[string]*corev1.Volume) error {
	f := fmt.Sprintf("containers[%q]", c.Name)
	if err := checkImage(f+".image", c.Image); err != nil {
		return err
	}
	for _, p := range c.Ports {
		if p.HostPort != 0 || p.HostIP != "" {
			return invalid(f+".ports", "host ports are not allowed (port %d)", p.ContainerPort)
		}
	}
	for _, h := range handlerHosts(c) {
		if h != "" {
			return invalid(f, "probes and lifecycle handlers may not set a host (%q)", h)
		}
	}
	agent := c.Name == AgentContainerName
	if agent {
		seen := make(map[string]bool, len(c.Env))
		for _, e := range c.Env {
			if !IsEnvName(e.Name) {
				return invalid(f+".env", "%q is not a C identifier", e.Name)
			}
			if seen[e.Name] {
				return conflict(f+".env", "environment variable %q is set twice", e.Name)
			}
			seen[e.Name] = true
		}
	}
	mounts := make([]mount, 0, len(c.VolumeMounts))
	for _, m := range c.VolumeMounts {
		mf := fmt.Sprintf("%s: mount of volume %q at %q", f, m.Name, m.MountPath)
		v, ok := volumes[m.Name]
		if !ok {
			return invalid(mf, "there is no volume %q", m.Name)
		}
		if why := checkSubPath(m.SubPath); why != "" {
			return invalid(mf, "subPath %q %s", m.SubPath, why)
		}
		if m.SubPathExpr != "" {
			return invalid(mf, "subPathExpr is not allowed: its expansion cannot be checked")
		}
		if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
			return invalid(mf, "mount propagation %s is not allowed", *m.MountPropagation)
		}
		origin := originCaller
		if o, ok := b.ours[m.Name+"\x00"+m.MountPath]; ok && agent {
			origin = o
		}
		mounts = append(mounts, mount{
			path:    m.MountPath,
			volume:  m.Name,
			scratch: v.EmptyDir != nil && !m.ReadOnly && m.SubPath == "",
			origin:  origin,
		})
	}
	return checkMounts(c.Name, mounts, b.reservedPaths(agent))
}

func (b *builder) reservedPaths(agent bool) []reservedPath {
	rs := make([]reservedPath, 0, len(systemReservedPaths)+4)
	for _, p := range systemReservedPaths {
		rs = append(rs, reservedPath{path: p, above: true})
	}
	if agent {
		rs = append(rs,
			reservedPath{path: ToolsDir, allow: originSystem},
			reservedPath{path: InternalDir, allow: originFile},
			reservedPath{path: b.workspace + "/" + TaskFile, allow: originFile},
			reservedPath{path: b.workspace + "/" + contextDir, allow: originFile},
		)
	}
	return rs
}

func handlerHosts(c *corev1.Container) []string {
	var hosts []string
	add := func(h *corev1.ProbeHandler) {
		if h == nil {
			return
		}
		if h.HTTPGet != nil {
			hosts = append(hosts, h.HTTPGet.Host)
		}
		if h.TCPSocket != nil {
			hosts = append(hosts, h.TCPSocket.Host)
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			add(&p.ProbeHandler)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h == nil {
				continue
			}
			if h.HTTPGet != nil {
				hosts = append(hosts, h.HTTPGet.Host)
			}
			if h.TCPSocket != nil {
				hosts = append(hosts, h.TCPSocket.Host)
			}
		}
	}
	return hosts
}

// restrictedVolume reports whether v uses only the volume types Pod Security "restricted" allows.
func restrictedVolume(v *corev1.VolumeSource) bool {
	rest := *v
	rest.ConfigMap, rest.CSI, rest.DownwardAPI, rest.EmptyDir, rest.Ephemeral = nil, nil, nil, nil, nil
	rest.Image, rest.PersistentVolumeClaim, rest.Projected, rest.Secret = nil, nil, nil, nil
	return rest == corev1.VolumeSource{} && *v != corev1.VolumeSource{}
}

// isMetadataFieldPath reports whether p is a downward API volume field of the Pod's metadata.
func isMetadataFieldPath(p string) bool {
	switch p {
	case "metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations":
		return true
	}
	for _, prefix := range []string{"metadata.labels['", "metadata.annotations['"} {
		if key, ok := strings.CutPrefix(p, prefix); ok {
			key, ok = strings.CutSuffix(key, "']")
			return ok && key != "" && !strings.ContainsAny(key, "'[]")
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

func copySlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s...)
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func deepCopyEnv(env []corev1.EnvVar) []corev1.EnvVar {
	out := make([]corev1.EnvVar, len(env))
	for i := range env {
		env[i].DeepCopyInto(&out[i])
	}
	return out
}
