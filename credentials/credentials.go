package credentials

import (
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeopencode/kubeopencode/credentials/stage"
)

// Names and paths of what a Projection adds.
const (
	// StagingContainerName is the init container that stages credential files.
	StagingContainerName = "stage-credentials"
	// StagedVolumeName is the memory-backed emptyDir holding the staged files.
	StagedVolumeName = "staged-credentials"
	// StagingSourceDir and StagingDestDir are where the staging container sees the Secret volumes
	// (one sub-directory each) and the staged emptyDir. Only the staging container mounts them.
	StagingSourceDir = "/kubeopencode/credentials/secrets"
	StagingDestDir   = "/kubeopencode/credentials/staged"
	// SecretVolumeMode is the defaultMode of the Secret volumes: with fsGroup = the agent GID, the
	// staging container (running as the agent) can read them; they are mounted nowhere else.
	SecretVolumeMode int32 = 0o440
)

// Credential references a Secret in the Pod's namespace and says how the agent receives it. The
// supported combinations (anything else is refused):
//
//	Key + Env             one key as an environment variable (env valueFrom.secretKeyRef)
//	Key + MountPath       one key as a file at MountPath, mode FileMode
//	Key + Env + MountPath both
//	MountPath only        every key as a file in the directory MountPath, mode FileMode
//	neither               every key as an environment variable (envFrom), named EnvPrefix+key
type Credential struct {
	// Name identifies the credential in errors and derived names. Required, unique.
	Name string
	// SecretName is the Secret in the Pod's namespace. Required.
	SecretName string
	// Key selects one key of the Secret; empty means the whole Secret.
	Key string
	// Env is the environment variable that receives Key: a C identifier, not reserved.
	Env string
	// EnvPrefix is prepended to every key of a whole Secret exposed as environment variables. It is
	// required unless Options.AllowUnprefixedEnvFrom, because the keys of a Secret are not known
	// when the Pod is built and could otherwise name PATH or TASK_*.
	EnvPrefix string
	// MountPath is where the file (with Key) or the directory (without Key) appears in the
	// containers named to Apply: clean, absolute, outside the reserved paths.
	MountPath string
	// FileMode of each file: nil means DefaultFileMode (0600); any mode 0000–0777 without group
	// or other write bits (e.g. 0400 for SSH keys).
	FileMode *int32
}

// Options configure Project. The zero value is not usable when a credential has a MountPath:
// StagingImage and StagingCommand are then required.
type Options struct {
	// UID and GID of the agent; zero means DefaultUID/DefaultGID. Staged files are owned by UID;
	// Apply sets the Pod's fsGroup to GID and refuses containers that run as another user.
	UID, GID int64
	// StagingImage and StagingCommand run the staging init container. The image is trusted: it
	// reads every file credential. The command must implement package stage (for example the
	// stage-credentials program of this module, or the operator's own binary).
	StagingImage           string
	StagingCommand         []string
	StagingImagePullPolicy corev1.PullPolicy
	// StagingResources of the staging container; empty leaves them unset.
	StagingResources corev1.ResourceRequirements
	// AllowUnprefixedEnvFrom is an explicit relaxation: it lets a whole Secret become environment
	// variables without EnvPrefix, so whoever can write that Secret can set any variable,
	// including PATH and TASK_*. Default false: such credentials are refused.
	AllowUnprefixedEnvFrom bool
}

// Projection is the validated, immutable result of Project. Apply adds it to a PodSpec; a
// Projection can be applied to any number of PodSpecs.
type Projection struct {
	uid, gid int64
	env      []corev1.EnvVar
	envFrom  []corev1.EnvFromSource
	mounts   []corev1.VolumeMount // into the named containers
	// envOf and mountOf name the credential behind env[i] and mounts[i], for errors.
	envOf, mountOf []string
	volumes        []corev1.Volume   // staged emptyDir first, then one Secret volume per file credential
	staging        *corev1.Container // nil without file credentials
}

// Project validates the credentials and prepares what Apply adds to a PodSpec. It does no I/O and
// is deterministic.
func Project(creds []Credential, opts Options) (*Projection, error) {
	p := &Projection{uid: opts.UID, gid: opts.GID}
	if p.uid == 0 {
		p.uid = DefaultUID
	}
	if p.gid == 0 {
		p.gid = DefaultGID
	}
	if p.uid < 0 || p.uid > 1<<31-1 {
		return nil, newErr(ErrInvalid, "", "Options.UID", "%d is outside 1..2147483647", p.uid)
	}
	if p.gid < 0 || p.gid > 1<<31-1 {
		return nil, newErr(ErrInvalid, "", "Options.GID", "%d is outside 1..2147483647", p.gid)
	}
	names := make(map[string]bool, len(creds))
	envs := make(map[string]string, len(creds))
	var files []Credential
	manifest := stage.Manifest{UID: int(p.uid), Source: StagingSourceDir, Dest: StagingDestDir}
	for i := range creds {
		c := &creds[i]
		if err := validate(c, opts); err != nil {
			return nil, err
		}
		if names[c.Name] {
			return nil, newErr(ErrConflict, c.Name, "name", "is used by two credentials")
		}
		names[c.Name] = true
		if c.Env != "" {
			if other, dup := envs[c.Env]; dup {
				return nil, newErr(ErrConflict, c.Name, "env", "%q is also set by credential %q", c.Env, other)
			}
			envs[c.Env] = c.Name
			p.envOf = append(p.envOf, c.Name)
			p.env = append(p.env, corev1.EnvVar{Name: c.Env, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: c.SecretName}, Key: c.Key},
			}})
		}
		if c.Key == "" && c.MountPath == "" {
			p.envFrom = append(p.envFrom, corev1.EnvFromSource{Prefix: c.EnvPrefix,
				SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: c.SecretName}}})
		}
		if c.MountPath == "" {
			continue
		}
		for _, o := range files {
			if within(c.MountPath, o.MountPath) || within(o.MountPath, c.MountPath) {
				return nil, newErr(ErrConflict, c.Name, "mountPath", "%q collides with or nests in %q of credential %q",
					c.MountPath, o.MountPath, o.Name)
			}
		}
		files = append(files, *c)
		vol := dnsLabel("secret-"+c.Name, "secret", c.Name)
		dir := dnsLabel(c.Name, "dir", c.Name)
		mode := DefaultFileMode
		if c.FileMode != nil {
			mode = *c.FileMode
		}
		secret := &corev1.SecretVolumeSource{SecretName: c.SecretName, DefaultMode: ptr(SecretVolumeMode)}
		subPath := dir
		if c.Key != "" {
			// Only the key needed: the staging container never sees the rest of the Secret.
			secret.Items = []corev1.KeyToPath{{Key: c.Key, Path: c.Key}}
			subPath = dir + "/" + c.Key
		}
		p.volumes = append(p.volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Secret: secret}})
		manifest.Items = append(manifest.Items, stage.Item{Volume: vol, Key: c.Key, Dir: dir, Mode: uint32(mode)})
		p.mountOf = append(p.mountOf, c.Name)
		p.mounts = append(p.mounts, corev1.VolumeMount{Name: StagedVolumeName, MountPath: c.MountPath, SubPath: subPath, ReadOnly: true})
	}
	if len(files) == 0 {
		return p, nil
	}
	if opts.StagingImage == "" {
		return nil, newErr(ErrInvalid, "", "Options.StagingImage", "is required for file credentials (credential %q)", files[0].Name)
	}
	if len(opts.StagingCommand) == 0 {
		return nil, newErr(ErrInvalid, "", "Options.StagingCommand", "is required for file credentials (credential %q)", files[0].Name)
	}
	raw, err := manifest.Marshal()
	if err != nil {
		return nil, newErr(ErrInvalid, "", "manifest", "%v", err)
	}
	staging := &corev1.Container{
		Name:            StagingContainerName,
		Image:           opts.StagingImage,
		ImagePullPolicy: opts.StagingImagePullPolicy,
		Command:         slices.Clone(opts.StagingCommand),
		Env:             []corev1.EnvVar{{Name: stage.ManifestEnv, Value: raw}},
		VolumeMounts:    []corev1.VolumeMount{{Name: StagedVolumeName, MountPath: StagingDestDir}},
		Resources:       *opts.StagingResources.DeepCopy(),
		SecurityContext: hardened(p.uid, p.gid),
	}
	for _, v := range p.volumes {
		staging.VolumeMounts = append(staging.VolumeMounts,
			corev1.VolumeMount{Name: v.Name, MountPath: StagingSourceDir + "/" + v.Name, ReadOnly: true})
	}
	p.staging = staging
	// A Secret holds at most 1 MiB, so the tmpfs never needs more than 1 MiB per credential.
	size := resource.MustParse(strconv.Itoa(len(files)) + "Mi")
	p.volumes = append([]corev1.Volume{{Name: StagedVolumeName, VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}}}, p.volumes...)
	return p, nil
}

func validate(c *Credential, opts Options) error {
	if c.Name == "" {
		return newErr(ErrInvalid, "", "name", "is required")
	}
	if len(c.Name) > 253 {
		return newErr(ErrInvalid, c.Name[:32]+"...", "name", "is longer than 253 bytes")
	}
	for i := 0; i < len(c.Name); i++ {
		if c.Name[i] < 0x20 || c.Name[i] == 0x7f {
			return newErr(ErrInvalid, c.Name, "name", "contains control characters")
		}
	}
	bad := func(cat error, field, format string, args ...any) error {
		return newErr(cat, c.Name, field, format, args...)
	}
	if !isDNSSubdomain(c.SecretName) {
		return bad(ErrInvalid, "secretName", "%q is not a valid Secret name", c.SecretName)
	}
	if c.Key != "" && !isSecretKey(c.Key) {
		return bad(ErrInvalid, "key", "%q is not a valid Secret key", c.Key)
	}
	switch {
	case c.Key != "" && c.Env == "" && c.MountPath == "":
		return bad(ErrInvalid, "key", "needs env or mountPath")
	case c.Key == "" && c.Env != "":
		return bad(ErrInvalid, "env", "needs key (a whole Secret becomes variables through envPrefix)")
	case c.EnvPrefix != "" && (c.Key != "" || c.MountPath != ""):
		return bad(ErrInvalid, "envPrefix", "applies only to a whole Secret exposed as environment variables (no key, no mountPath)")
	case c.FileMode != nil && c.MountPath == "":
		return bad(ErrInvalid, "fileMode", "needs mountPath")
	}
	if c.Env != "" {
		if !IsEnvName(c.Env) {
			return bad(ErrInvalid, "env", "%q is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Env)
		}
		if IsReservedEnvName(c.Env) {
			return bad(ErrReserved, "env", "%q is reserved (%s)", c.Env, reservedEnvList)
		}
	}
	if c.Key == "" && c.MountPath == "" {
		switch {
		case c.EnvPrefix == "" && !opts.AllowUnprefixedEnvFrom:
			return bad(ErrInvalid, "envPrefix", "is required when the whole Secret %q becomes environment variables: "+
				"its keys could name reserved variables (or set Options.AllowUnprefixedEnvFrom)", c.SecretName)
		case c.EnvPrefix != "" && !IsEnvName(c.EnvPrefix):
			return bad(ErrInvalid, "envPrefix", "%q is not a C identifier", c.EnvPrefix)
		case c.EnvPrefix != "" && !safeEnvPrefix(c.EnvPrefix):
			return bad(ErrReserved, "envPrefix", "%q could form a reserved name (%s, OPENCODE_*)", c.EnvPrefix, reservedEnvList)
		}
	}
	if c.MountPath != "" {
		if why := checkPath(c.MountPath); why != "" {
			return bad(ErrInvalid, "mountPath", "%q %s", c.MountPath, why)
		}
		for _, r := range reservedPaths {
			if within(c.MountPath, r) || within(r, c.MountPath) {
				return bad(ErrReserved, "mountPath", "%q overlaps the reserved path %q", c.MountPath, r)
			}
		}
		if c.FileMode != nil && (*c.FileMode < 0 || *c.FileMode > 0o777 || *c.FileMode&0o022 != 0) {
			return bad(ErrInvalid, "fileMode", "%#o must be within 0000-0777 without group or other write bits", *c.FileMode)
		}
	}
	return nil
}

func hardened(uid, gid int64) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		Privileged:               ptr(false),
		RunAsUser:                ptr(uid),
		RunAsGroup:               ptr(gid),
		RunAsNonRoot:             ptr(true),
		ReadOnlyRootFilesystem:   ptr(true),
		AllowPrivilegeEscalation: ptr(false),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func ptr[T any](v T) *T { return &v }

// Apply adds the projection to spec, for the named containers only (regular or init containers):
// they get the environment variables, the envFrom sources and read-only mounts of the staged
// files. The staging init container is put first among the init containers, so every other
// container, init ones included, starts after the files exist. Init containers that are not named
// get nothing.
//
// With file credentials, Apply also sets the Pod's fsGroup to the GID (it refuses a different
// one) and refuses named containers that do not run as the UID, because the staged files are owned
// by the UID and readable by no one else.
//
// Apply checks everything before changing anything: on error, spec is unchanged. Errors are
// *Error values naming the credential (or the container) and the field.
func (p *Projection) Apply(spec *corev1.PodSpec, containerNames ...string) error {
	if spec == nil {
		return newErr(ErrInvalid, "", "PodSpec", "is nil")
	}
	if len(containerNames) == 0 {
		return newErr(ErrInvalid, "", "containerNames", "name at least one container to receive the credentials")
	}
	targets := make([]*corev1.Container, 0, len(containerNames))
	for _, name := range containerNames {
		c := findContainer(spec, name)
		if c == nil || name == StagingContainerName {
			return newErr(ErrInvalid, "", "containerNames", "the PodSpec has no container %q", name)
		}
		if slices.Contains(targets, c) {
			return newErr(ErrInvalid, "", "containerNames", "container %q is named twice", name)
		}
		targets = append(targets, c)
	}
	if p.staging != nil {
		if err := p.checkStaging(spec, targets); err != nil {
			return err
		}
	}
	for _, c := range targets {
		if err := p.checkContainer(spec, c); err != nil {
			return err
		}
	}

	// Everything is checked: mutate.
	if p.staging != nil {
		if spec.SecurityContext == nil {
			spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		spec.SecurityContext.FSGroup = ptr(p.gid)
		for _, v := range p.volumes {
			spec.Volumes = append(spec.Volumes, *v.DeepCopy())
		}
		spec.InitContainers = append([]corev1.Container{*p.staging.DeepCopy()}, spec.InitContainers...)
	}
	for _, name := range containerNames {
		c := findContainer(spec, name) // re-find: the init containers moved
		for _, e := range p.env {
			c.Env = append(c.Env, *e.DeepCopy())
		}
		for _, e := range p.envFrom {
			c.EnvFrom = append(c.EnvFrom, *e.DeepCopy())
		}
		c.VolumeMounts = append(c.VolumeMounts, p.mounts...)
	}
	return nil
}

func (p *Projection) checkStaging(spec *corev1.PodSpec, targets []*corev1.Container) error {
	if findContainer(spec, StagingContainerName) != nil {
		return newErr(ErrConflict, "", "PodSpec", "already has a container named %q (was the projection applied twice?)", StagingContainerName)
	}
	for _, v := range p.volumes {
		for _, existing := range spec.Volumes {
			if existing.Name == v.Name {
				return newErr(ErrConflict, "", "PodSpec", "already has a volume named %q", v.Name)
			}
		}
	}
	if sc := spec.SecurityContext; sc != nil && sc.FSGroup != nil && *sc.FSGroup != p.gid {
		return newErr(ErrConflict, "", "PodSpec.securityContext.fsGroup",
			"is %d, but file credentials need the agent GID %d", *sc.FSGroup, p.gid)
	}
	for _, c := range targets {
		uid := effectiveUID(spec, c)
		if uid == nil || *uid != p.uid {
			got := "unset (the image's user)"
			if uid != nil {
				got = strconv.FormatInt(*uid, 10)
			}
			return newErr(ErrConflict, "", fmt.Sprintf("container %q runAsUser", c.Name),
				"is %s, but staged credential files are owned by UID %d and readable by no other", got, p.uid)
		}
	}
	return nil
}

func (p *Projection) checkContainer(spec *corev1.PodSpec, c *corev1.Container) error {
	for i, e := range p.env {
		for _, existing := range c.Env {
			if existing.Name == e.Name {
				return newErr(ErrConflict, p.envOf[i], "env", "%q is already set in container %q", e.Name, c.Name)
			}
		}
	}
	for i, m := range p.mounts {
		for _, o := range c.VolumeMounts {
			switch {
			case o.MountPath == m.MountPath:
				return newErr(ErrConflict, p.mountOf[i], "mountPath", "%q is already used in container %q by volume %q",
					m.MountPath, c.Name, o.Name)
			case within(o.MountPath, m.MountPath):
				return newErr(ErrConflict, p.mountOf[i], "mountPath", "%q would shadow the mount %q (volume %q) in container %q",
					m.MountPath, o.MountPath, o.Name, c.Name)
			case within(m.MountPath, o.MountPath) && !scratch(spec, o):
				return newErr(ErrConflict, p.mountOf[i], "mountPath",
					"%q would shadow part of the mount %q (volume %q) in container %q, which is not a writable emptyDir",
					m.MountPath, o.MountPath, o.Name, c.Name)
			}
		}
	}
	return nil
}

// scratch reports whether a mount is a whole writable emptyDir, in which nesting shadows nothing.
func scratch(spec *corev1.PodSpec, m corev1.VolumeMount) bool {
	if m.ReadOnly || m.SubPath != "" || m.SubPathExpr != "" {
		return false
	}
	for _, v := range spec.Volumes {
		if v.Name == m.Name {
			return v.EmptyDir != nil
		}
	}
	return false
}

func effectiveUID(spec *corev1.PodSpec, c *corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if spec.SecurityContext != nil {
		return spec.SecurityContext.RunAsUser
	}
	return nil
}

func findContainer(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == name {
			return &spec.InitContainers[i]
		}
	}
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}
