package podspec

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubeopencode/kubeopencode/api/contract"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Build assembles the agent Pod described by s. It does no I/O, does not modify s, and returns
// the same Pod for the same Spec.
//
// A Spec it refuses gives an [*Errors] that reports every problem at once, each a [*FieldError]
// with a field path whose category errors.Is tells (ErrInvalid, ErrReserved, ErrConflict). Build
// checks the Spec first and then the Pod it assembled (which includes what the projections
// added); problems of the assembled Pod are reported only when the Spec has none. An error
// returned by a Projection is returned wrapped with its index.
func Build(s Spec) (*corev1.Pod, error) {
	b, errs := newBuilder(&s)
	if len(errs) > 0 {
		return nil, toError(errs)
	}
	pod := b.pod(&s)
	// Harden before the projections, so they see the final users and groups (credentials checks
	// that the containers it serves run as the agent UID), and again after them.
	b.harden(&pod.Spec)
	for i, p := range s.Projections {
		if err := p.Apply(&pod.Spec, b.targets...); err != nil {
			return nil, fmt.Errorf("podspec: Projections[%d]: %w", i, err)
		}
	}
	// Hardening comes after the projections, so nothing they add can weaken the Pod.
	b.harden(&pod.Spec)
	// After the projections too, so their init containers get resources as well.
	for i := range pod.Spec.InitContainers {
		if r := &pod.Spec.InitContainers[i].Resources; len(r.Requests) == 0 && len(r.Limits) == 0 && len(r.Claims) == 0 {
			s.InitContainerResources.DeepCopyInto(r)
		}
	}
	if errs := b.check(&pod.Spec); len(errs) > 0 {
		return nil, toError(errs)
	}
	return pod, nil
}

// builder holds what Build derives from the Spec. It does not point to the Spec, so that Build's
// copy of the Spec stays on the stack.
type builder struct {
	relax     Relax
	uid, gid  int64
	workspace string
	deadline  int64
	name      string
	labels    map[string]string
	// ours holds the volume and path of the mounts podspec itself adds to the agent container, with
	// their origin (system or file).
	ours    map[mountKey]mountOrigin
	targets []string
	// taskPath and contextPath are the workspace's operator-written paths, reserved for Files.
	taskPath, contextPath string
}

type mountKey struct{ volume, path string }

// newBuilder checks the Spec, reporting every problem, and derives what Build needs from it.
// Field paths such as Files[2] are formatted only on the error path: Build is a hot path.
func newBuilder(s *Spec) (*builder, field.ErrorList) {
	b := &builder{relax: s.Relax, uid: s.UID, gid: s.GID, workspace: s.WorkspaceDir}
	var errs field.ErrorList
	id := s.Identity
	if id.OwnerUID == "" {
		errs = append(errs, required(field.NewPath("Identity", "OwnerUID"), ""))
	}
	if id.OwnerName == "" {
		errs = append(errs, required(field.NewPath("Identity", "OwnerName"), ""))
	}
	errs = append(errs, s.LabelScheme.validate()...)
	if !isDNSLabel(s.Namespace) {
		errs = append(errs, invalid(field.NewPath("Namespace"), "%q is not a DNS label", s.Namespace))
	}
	if b.uid == 0 {
		b.uid = DefaultUID
	}
	if b.gid == 0 {
		b.gid = DefaultGID
	}
	if b.uid < 0 || b.uid > contract.MaxID {
		errs = append(errs, invalid(field.NewPath("UID"), "%d is outside 1..2147483647", b.uid))
	}
	if b.gid < 0 || b.gid > contract.MaxID {
		errs = append(errs, invalid(field.NewPath("GID"), "%d is outside 1..2147483647", b.gid))
	}
	switch {
	case s.Deadline < 0:
		errs = append(errs, invalid(field.NewPath("Deadline"), "must not be negative"))
	case s.Deadline == 0:
		b.deadline = int64(DefaultDeadline / time.Second)
	default:
		b.deadline = int64((s.Deadline + time.Second - 1) / time.Second)
	}
	if b.workspace == "" {
		b.workspace = DefaultWorkspaceDir
	}
	b.taskPath = b.workspace + "/" + TaskFile
	b.contextPath = b.workspace + "/" + contextDir
	if why := CheckPath(b.workspace); why != "" {
		errs = append(errs, invalid(field.NewPath("WorkspaceDir"), "%q %s", b.workspace, why))
	} else {
		for _, r := range [...]string{ToolsDir, InternalDir} {
			if contract.Overlaps(b.workspace, r) {
				errs = append(errs, pathConflict(field.NewPath("WorkspaceDir"), true,
					"%q (the workspace) overlaps the reserved path %q", b.workspace, r))
			}
		}
	}
	if s.AgentImage == "" {
		errs = append(errs, required(field.NewPath("AgentImage"), ""))
	} else if why := checkImage(s.AgentImage); why != "" {
		errs = append(errs, invalid(field.NewPath("AgentImage"), "%s", why))
	}
	if s.ExecutorImage == "" {
		errs = append(errs, required(field.NewPath("ExecutorImage"), ""))
	} else if why := checkImage(s.ExecutorImage); why != "" {
		errs = append(errs, invalid(field.NewPath("ExecutorImage"), "%s", why))
	}
	if len(s.Command) == 0 || strings.TrimSpace(s.Command[0]) == "" {
		errs = append(errs, required(field.NewPath("Command"), "Command[0], the program, must not be empty"))
	}
	for _, q := range []struct {
		field string
		limit *resource.Quantity
	}{{"WorkspaceSizeLimit", s.WorkspaceSizeLimit}, {"HomeSizeLimit", s.HomeSizeLimit}, {"TmpSizeLimit", s.TmpSizeLimit}} {
		if q.limit != nil && q.limit.Sign() <= 0 {
			errs = append(errs, invalid(field.NewPath(q.field), "%s must be greater than zero", q.limit))
		}
	}
	errs = append(errs, validateLabels("Labels", s.Labels, s.LabelScheme)...)
	errs = append(errs, validateAnnotations("Annotations", s.Annotations, s.LabelScheme)...)
	for i, e := range s.Env {
		switch {
		case !IsEnvName(e.Name):
			errs = append(errs, invalid(field.NewPath("Env").Index(i).Child("Name"), "%q is not a C identifier", e.Name))
		case e.Name == EnvHome || e.Name == EnvWorkspaceDir:
			errs = append(errs, reserved(field.NewPath("Env").Index(i).Child("Name"), "%q is set by podspec", e.Name))
		}
	}
	filePaths := make(map[string]int, len(s.Files))
	for i, f := range s.Files {
		fp := func(child string) *field.Path { return field.NewPath("Files").Index(i).Child(child) }
		if j, dup := filePaths[f.Path]; dup {
			errs = append(errs, pathConflict(fp("Path"), false, "%q is already used by Files[%d]", f.Path, j))
		} else {
			filePaths[f.Path] = i
		}
		if why := CheckPath(f.Path); why != "" {
			errs = append(errs, invalid(fp("Path"), "%q %s", f.Path, why))
		}
		switch {
		case f.FieldPath != "" && (f.ConfigMap != "" || f.Key != ""):
			errs = append(errs, invalid(fp("FieldPath"), "excludes ConfigMap and Key: a file has one source"))
		case f.FieldPath != "":
			if !isMetadataFieldPath(f.FieldPath) {
				errs = append(errs, invalid(fp("FieldPath"), "%q is not a downward API field of the Pod's metadata", f.FieldPath))
			}
		case f.ConfigMap == "":
			errs = append(errs, required(fp("ConfigMap"), ""))
		case f.Key == "":
			errs = append(errs, required(fp("Key"), ""))
		}
		if f.Mode < 0 || f.Mode > 0o777 {
			errs = append(errs, invalid(fp("Mode"), "%#o is outside 0..0777", f.Mode))
		}
	}
	for i, p := range s.Projections {
		if p == nil {
			errs = append(errs, required(field.NewPath("Projections").Index(i), "is nil"))
		}
	}
	b.name = DNSLabel(id.OwnerName, id.OwnerUID)
	ownerNamespace := id.OwnerNamespace
	if ownerNamespace == "" {
		ownerNamespace = s.Namespace
	}
	managedBy, keys := s.LabelScheme.ManagedBy, s.LabelScheme.Keys()
	if managedBy == "" {
		managedBy = DefaultManagedBy
	}
	b.labels = make(map[string]string, len(s.Labels)+6)
	for k, v := range s.Labels {
		b.labels[k] = v
	}
	b.labels[LabelManagedBy] = managedBy
	b.labels[keys.OwnerUID] = LabelValue(id.OwnerUID)
	b.labels[keys.OwnerName] = LabelValue(id.OwnerName)
	b.labels[keys.OwnerNamespace] = LabelValue(ownerNamespace)
	if id.GroupName != "" {
		b.labels[keys.Group] = LabelValue(id.GroupName)
	}
	if id.GroupUID != "" {
		b.labels[keys.GroupUID] = LabelValue(id.GroupUID)
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
			errs = append(errs, invalid(field.NewPath("ProjectInto").Index(i), "%q is not the name of one of InitContainers or Sidecars", name))
		}
	}
	b.targets = append([]string{AgentContainerName}, s.ProjectInto...)
	return b, errs
}

func (b *builder) pod(s *Spec) *corev1.Pod {
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
	pod.Spec.Tolerations = appendDeepCopies(pod.Spec.Tolerations, s.Scheduling.Tolerations)
	pod.Spec.TopologySpreadConstraints = appendDeepCopies(pod.Spec.TopologySpreadConstraints, s.Scheduling.TopologySpreadConstraints)
	if s.Scheduling.Affinity != nil {
		pod.Spec.Affinity = s.Scheduling.Affinity.DeepCopy()
	}

	emptyDir := func(name string, limit *resource.Quantity) corev1.Volume {
		v := corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		if limit != nil {
			v.EmptyDir.SizeLimit = ptr(limit.DeepCopy())
		}
		return v
	}
	// Slices get their final capacity up front: growing slices of Volumes and Containers copies a
	// lot, and was a large part of Build's time.
	pod.Spec.Volumes = append(make([]corev1.Volume, 0, 4+len(s.Files)+len(s.Volumes)),
		emptyDir(ToolsVolumeName, nil), emptyDir(HomeVolumeName, s.HomeSizeLimit), emptyDir(TmpVolumeName, s.TmpSizeLimit),
		emptyDir(WorkspaceVolumeName, s.WorkspaceSizeLimit),
	)

	pod.Spec.Containers = make([]corev1.Container, 1)
	agent := &pod.Spec.Containers[0]
	*agent = corev1.Container{
		Name:            AgentContainerName,
		Image:           s.ExecutorImage,
		ImagePullPolicy: s.ImagePullPolicy,
		Command:         copySlice(s.Command),
		Args:            copySlice(s.Args),
		WorkingDir:      b.workspace,
		// The agent's result: what it writes to ResultPath, or, when it fails without writing
		// there, the tail of its output (the kubelet reads and bounds both).
		TerminationMessagePath:   ResultPath,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		Env: appendDeepCopies(append(make([]corev1.EnvVar, 0, 2+len(s.Env)),
			corev1.EnvVar{Name: EnvHome, Value: HomeDir},
			corev1.EnvVar{Name: EnvWorkspaceDir, Value: b.workspace},
		), s.Env),
		VolumeMounts: append(make([]corev1.VolumeMount, 0, 4+len(s.Files)+len(s.VolumeMounts)),
			corev1.VolumeMount{Name: ToolsVolumeName, MountPath: ToolsDir, ReadOnly: true},
			corev1.VolumeMount{Name: HomeVolumeName, MountPath: HomeDir},
			corev1.VolumeMount{Name: TmpVolumeName, MountPath: TmpDir},
			corev1.VolumeMount{Name: WorkspaceVolumeName, MountPath: b.workspace},
		),
	}
	s.Resources.DeepCopyInto(&agent.Resources)
	b.ours = make(map[mountKey]mountOrigin, len(agent.VolumeMounts)+len(s.Files))
	for _, m := range agent.VolumeMounts {
		b.ours[mountKey{m.Name, m.MountPath}] = originSystem
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
		b.ours[mountKey{name, f.Path}] = originFile
	}
	pod.Spec.Volumes = appendDeepCopies(pod.Spec.Volumes, s.Volumes)
	agent.VolumeMounts = appendDeepCopies(agent.VolumeMounts, s.VolumeMounts)

	pod.Spec.InitContainers = append(make([]corev1.Container, 0, 1+len(s.InitContainers)+len(s.Sidecars)), corev1.Container{
		Name:            AgentInitContainerName,
		Image:           s.AgentImage,
		ImagePullPolicy: s.ImagePullPolicy,
		Command:         copySlice(s.AgentInitCommand),
		VolumeMounts: []corev1.VolumeMount{
			{Name: ToolsVolumeName, MountPath: ToolsDir},
			{Name: TmpVolumeName, MountPath: TmpDir},
		},
	})
	pod.Spec.InitContainers = appendDeepCopies(pod.Spec.InitContainers, s.InitContainers)
	sidecars := len(pod.Spec.InitContainers)
	pod.Spec.InitContainers = appendDeepCopies(pod.Spec.InitContainers, s.Sidecars)
	for i := sidecars; i < len(pod.Spec.InitContainers); i++ {
		pod.Spec.InitContainers[i].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
	}
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
	h := &hardenedPod{
		os:      corev1.PodOS{Name: corev1.Linux},
		seccomp: corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		uid:     b.uid, gid: b.gid, fsGroup: b.gid, nonRoot: true,
		deadline:  b.deadline,
		automount: b.relax.AutomountServiceAccountToken, serviceLinks: b.relax.EnableServiceLinks,
	}
	h.sc = corev1.PodSecurityContext{
		RunAsUser: &h.uid, RunAsGroup: &h.gid, RunAsNonRoot: &h.nonRoot, FSGroup: &h.fsGroup, SeccompProfile: &h.seccomp,
	}
	ps.RestartPolicy = corev1.RestartPolicyNever
	ps.ActiveDeadlineSeconds = &h.deadline
	ps.AutomountServiceAccountToken = &h.automount
	ps.EnableServiceLinks = &h.serviceLinks
	ps.HostNetwork, ps.HostPID, ps.HostIPC = false, false, false
	ps.ShareProcessNamespace = nil
	ps.HostUsers = nil
	ps.OS = &h.os
	ps.SecurityContext = &h.sc
	for i := range ps.InitContainers {
		ps.InitContainers[i].SecurityContext = b.containerSecurityContext()
	}
	for i := range ps.Containers {
		ps.Containers[i].SecurityContext = b.containerSecurityContext()
	}
	ps.EphemeralContainers = nil
}

// hardenedPod and hardenedContainer hold a security context together with every value its
// pointers point to, so that one allocation replaces about ten (harden runs twice per Build).
// Each field has its own storage: changing one through its pointer changes nothing else.
type hardenedPod struct {
	sc                      corev1.PodSecurityContext
	os                      corev1.PodOS
	seccomp                 corev1.SeccompProfile
	uid, gid, fsGroup       int64
	deadline                int64
	nonRoot                 bool
	automount, serviceLinks bool
}

type hardenedContainer struct {
	sc                                            corev1.SecurityContext
	caps                                          corev1.Capabilities
	drop                                          [1]corev1.Capability
	seccomp                                       corev1.SeccompProfile
	uid, gid                                      int64
	privileged, nonRoot, readOnlyRoot, escalation bool
}

func (b *builder) containerSecurityContext() *corev1.SecurityContext {
	h := &hardenedContainer{
		drop:    [1]corev1.Capability{"ALL"},
		seccomp: corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		uid:     b.uid, gid: b.gid,
		privileged: false, nonRoot: true, readOnlyRoot: !b.relax.WritableRootFilesystem, escalation: false,
	}
	h.caps.Drop = h.drop[:]
	h.sc = corev1.SecurityContext{
		Capabilities:             &h.caps,
		Privileged:               &h.privileged,
		RunAsUser:                &h.uid,
		RunAsGroup:               &h.gid,
		RunAsNonRoot:             &h.nonRoot,
		ReadOnlyRootFilesystem:   &h.readOnlyRoot,
		AllowPrivilegeEscalation: &h.escalation,
		SeccompProfile:           &h.seccomp,
	}
	return &h.sc
}

// check validates the assembled Pod: names, volume types, mounts, ports, probes, environment. It
// reports every problem. Field paths such as volumes[x] are formatted only on the error path:
// Build is a hot path.
func (b *builder) check(ps *corev1.PodSpec) field.ErrorList {
	var errs field.ErrorList
	volumes := make(map[string]*corev1.Volume, len(ps.Volumes))
	for i := range ps.Volumes {
		v := &ps.Volumes[i]
		f := func() *field.Path { return field.NewPath("volumes").Key(v.Name) }
		if !isDNSLabel(v.Name) {
			errs = append(errs, invalid(f(), "volume name %q is not a DNS label", v.Name))
		}
		if _, dup := volumes[v.Name]; dup {
			errs = append(errs, conflict(f(), "volume name %q is used twice (names podspec uses: tools, home, tmp, workspace, file-*)", v.Name))
			continue
		}
		if !restrictedVolume(&v.VolumeSource) {
			errs = append(errs, invalid(f(), "volume %q: only configMap, csi, downwardAPI, emptyDir, ephemeral, image, "+
				"persistentVolumeClaim, projected and secret volumes are allowed (Pod Security restricted)", v.Name))
		}
		volumes[v.Name] = v
	}
	containers := make(map[string]bool, len(ps.InitContainers)+len(ps.Containers))
	for _, cs := range [...][]corev1.Container{ps.InitContainers, ps.Containers} {
		for i := range cs {
			c := &cs[i]
			if !isDNSLabel(c.Name) {
				errs = append(errs, invalid(containerPath(c.Name), "container name %q is not a DNS label", c.Name))
			}
			if containers[c.Name] {
				errs = append(errs, conflict(containerPath(c.Name), "container name %q is used twice (names podspec uses: agent, agent-init)", c.Name))
				continue
			}
			containers[c.Name] = true
			errs = append(errs, b.checkContainer(c, volumes)...)
		}
	}
	return errs
}

// containerPath is the field path of a container, e.g. containers[agent].
func containerPath(name string) *field.Path { return field.NewPath("containers").Key(name) }

func (b *builder) checkContainer(c *corev1.Container, volumes map[string]*corev1.Volume) field.ErrorList {
	var errs field.ErrorList
	if why := checkImage(c.Image); why != "" {
		errs = append(errs, invalid(containerPath(c.Name).Child("image"), "%s", why))
	}
	for _, p := range c.Ports {
		if p.HostPort != 0 || p.HostIP != "" {
			errs = append(errs, invalid(containerPath(c.Name).Child("ports"), "host ports are not allowed (port %d)", p.ContainerPort))
		}
	}
	if h := handlerHost(c); h != "" {
		errs = append(errs, invalid(containerPath(c.Name), "probes and lifecycle handlers may not set a host (%q)", h))
	}
	agent := c.Name == AgentContainerName
	if agent {
		seen := make(map[string]bool, len(c.Env))
		for _, e := range c.Env {
			if !IsEnvName(e.Name) {
				errs = append(errs, invalid(containerPath(c.Name).Child("env"), "%q is not a C identifier", e.Name))
			}
			if seen[e.Name] {
				errs = append(errs, conflict(containerPath(c.Name).Child("env"), "environment variable %q is set twice", e.Name))
			}
			seen[e.Name] = true
		}
	}
	// Typical containers have few mounts and reserved paths: these buffers keep them off the heap.
	var mountBuf [16]mount
	var reservedBuf [contract.NumSystemReservedPaths + 4]reservedPath
	mounts := mountBuf[:0]
	for _, m := range c.VolumeMounts {
		mf := func() *field.Path { return mountPath(c.Name, m.Name) }
		v, ok := volumes[m.Name]
		if !ok {
			errs = append(errs, invalid(mf(), "%q: there is no volume %q", m.MountPath, m.Name))
			continue
		}
		if why := checkSubPath(m.SubPath); why != "" {
			errs = append(errs, invalid(mf(), "%q: subPath %q %s", m.MountPath, m.SubPath, why))
		}
		if m.SubPathExpr != "" {
			errs = append(errs, invalid(mf(), "%q: subPathExpr is not allowed: its expansion cannot be checked", m.MountPath))
		}
		if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
			errs = append(errs, invalid(mf(), "%q: mount propagation %s is not allowed", m.MountPath, *m.MountPropagation))
		}
		origin := originCaller
		if o, ok := b.ours[mountKey{m.Name, m.MountPath}]; ok && agent {
			origin = o
		}
		mounts = append(mounts, mount{
			path:    m.MountPath,
			volume:  m.Name,
			scratch: v.EmptyDir != nil && !m.ReadOnly && m.SubPath == "",
			origin:  origin,
		})
	}
	return append(errs, checkMounts(c.Name, mounts, b.appendReservedPaths(reservedBuf[:0], agent))...)
}

// mountPath is the field path of a container's mount of a volume, e.g.
// containers[agent].volumeMounts[extra].mountPath.
func mountPath(container, volume string) *field.Path {
	return containerPath(container).Child("volumeMounts").Key(volume).Child("mountPath")
}

func (b *builder) appendReservedPaths(rs []reservedPath, agent bool) []reservedPath {
	for _, p := range contract.SystemReservedPaths() {
		rs = append(rs, reservedPath{path: p, above: true})
	}
	if agent {
		rs = append(rs,
			reservedPath{path: ToolsDir, allow: originSystem},
			reservedPath{path: InternalDir, allow: originFile},
			reservedPath{path: b.taskPath, allow: originFile},
			reservedPath{path: b.contextPath, allow: originFile},
		)
	}
	return rs
}

// handlerHost returns the first host set by a probe or lifecycle handler of c, or "".
func handlerHost(c *corev1.Container) string {
	for _, p := range [...]*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p == nil {
			continue
		}
		if h := p.HTTPGet; h != nil && h.Host != "" {
			return h.Host
		}
		if h := p.TCPSocket; h != nil && h.Host != "" {
			return h.Host
		}
	}
	if c.Lifecycle != nil {
		for _, l := range [...]*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if l == nil {
				continue
			}
			if h := l.HTTPGet; h != nil && h.Host != "" {
				return h.Host
			}
			if h := l.TCPSocket; h != nil && h.Host != "" {
				return h.Host
			}
		}
	}
	return ""
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

// appendDeepCopies appends a deep copy of each element of src to dst, copying straight into dst
// (DeepCopy would allocate each element on the heap first).
func appendDeepCopies[T any, P interface {
	*T
	DeepCopyInto(*T)
}](dst, src []T) []T {
	for i := range src {
		dst = append(dst, *new(T))
		P(&src[i]).DeepCopyInto(&dst[len(dst)-1])
	}
	return dst
}
