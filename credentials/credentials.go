package credentials

import (
	"slices"
	"strconv"
	"strings"

	"github.com/kubeopencode/kubeopencode/api/contract"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

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
// is deterministic. A refusal reports every problem at once (an [*Errors]).
func Project(creds []Credential, opts Options) (*Projection, error) {
	p := &Projection{uid: opts.UID, gid: opts.GID}
	var errs field.ErrorList
	if p.uid == 0 {
		p.uid = DefaultUID
	}
	if p.gid == 0 {
		p.gid = DefaultGID
	}
	if p.uid < 0 || p.uid > contract.MaxID {
		errs = append(errs, newErr(contract.Invalid, field.NewPath("Options", "UID"), "%d is outside 1..2147483647", p.uid))
	}
	if p.gid < 0 || p.gid > contract.MaxID {
		errs = append(errs, newErr(contract.Invalid, field.NewPath("Options", "GID"), "%d is outside 1..2147483647", p.gid))
	}
	names := make(map[string]bool, len(creds))
	envs := make(map[string]string, len(creds))
	var files []Credential
	manifest := stage.Manifest{UID: int(p.uid), Source: StagingSourceDir, Dest: StagingDestDir}
	for i := range creds {
		c := &creds[i]
		cp := credentialPath(i, c.Name)
		if verrs := validate(cp, c, opts); len(verrs) > 0 {
			// Derived names and collisions of a credential that is itself wrong would only add noise.
			errs = append(errs, verrs...)
			continue
		}
		if names[c.Name] {
			errs = append(errs, newErr(contract.Conflict, cp.Child("name"), "is used by two credentials"))
			continue
		}
		names[c.Name] = true
		if c.Env != "" {
			if other, dup := envs[c.Env]; dup {
				errs = append(errs, newErr(contract.Conflict, cp.Child("env"), "%q is also set by credential %q", c.Env, other))
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
			if contract.Overlaps(c.MountPath, o.MountPath) {
				errs = append(errs, newErr(contract.Conflict, cp.Child("mountPath"), "%q collides with or nests in %q of credential %q",
					c.MountPath, o.MountPath, o.Name))
			}
		}
		files = append(files, *c)
		vol := contract.DNSLabel("secret-"+c.Name, "secret", c.Name)
		dir := contract.DNSLabel(c.Name, "dir", c.Name)
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
	if len(files) > 0 {
		if opts.StagingImage == "" {
			errs = append(errs, newErr(contract.Invalid, field.NewPath("Options", "StagingImage"), "is required for file credentials (credential %q)", files[0].Name))
		}
		if len(opts.StagingCommand) == 0 {
			errs = append(errs, newErr(contract.Invalid, field.NewPath("Options", "StagingCommand"), "is required for file credentials (credential %q)", files[0].Name))
		}
	}
	if len(errs) > 0 {
		return nil, toError(errs)
	}
	if len(files) == 0 {
		return p, nil
	}
	raw, err := manifest.Marshal()
	if err != nil {
		return nil, toError(field.ErrorList{newErr(contract.Invalid, field.NewPath("manifest"), "%v", err)})
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

// credentialPath is the field path of a credential: by name, which errors of Apply use too, or by
// index when the name cannot identify it.
func credentialPath(i int, name string) *field.Path {
	if name == "" || len(name) > 253 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return field.NewPath("credentials").Index(i)
	}
	return field.NewPath("credentials").Key(name)
}

// validate reports the problems of one credential. Checks that depend on an earlier one (the
// environment rules on a supported combination) run only when it passed.
func validate(cp *field.Path, c *Credential, opts Options) field.ErrorList {
	var errs field.ErrorList
	bad := func(cat contract.Category, child, format string, args ...any) {
		errs = append(errs, newErr(cat, cp.Child(child), format, args...))
	}
	switch {
	case c.Name == "":
		errs = append(errs, field.Required(cp.Child("name"), ""))
	case len(c.Name) > 253:
		bad(contract.Invalid, "name", "is longer than 253 bytes")
	case strings.ContainsFunc(c.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		bad(contract.Invalid, "name", "contains control characters")
	}
	if !isDNSSubdomain(c.SecretName) {
		bad(contract.Invalid, "secretName", "%q is not a valid Secret name", c.SecretName)
	}
	if c.Key != "" && !isSecretKey(c.Key) {
		bad(contract.Invalid, "key", "%q is not a valid Secret key", c.Key)
	}
	combination := len(errs)
	switch {
	case c.Key != "" && c.Env == "" && c.MountPath == "":
		bad(contract.Invalid, "key", "needs env or mountPath")
	case c.Key == "" && c.Env != "":
		bad(contract.Invalid, "env", "needs key (a whole Secret becomes variables through envPrefix)")
	case c.EnvPrefix != "" && (c.Key != "" || c.MountPath != ""):
		bad(contract.Invalid, "envPrefix", "applies only to a whole Secret exposed as environment variables (no key, no mountPath)")
	case c.FileMode != nil && c.MountPath == "":
		bad(contract.Invalid, "fileMode", "needs mountPath")
	}
	if c.Env != "" {
		if !IsEnvName(c.Env) {
			bad(contract.Invalid, "env", "%q is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Env)
		} else if IsReservedEnvName(c.Env) {
			bad(contract.Reserved, "env", "%q is reserved (%s)", c.Env, contract.ReservedEnvList)
		}
	}
	supported := len(errs) == combination // the rules below assume a supported combination
	if supported && c.Key == "" && c.MountPath == "" {
		switch {
		case c.EnvPrefix == "" && !opts.AllowUnprefixedEnvFrom:
			bad(contract.Invalid, "envPrefix", "is required when the whole Secret %q becomes environment variables: "+
				"its keys could name reserved variables (or set Options.AllowUnprefixedEnvFrom)", c.SecretName)
		case c.EnvPrefix != "" && !IsEnvName(c.EnvPrefix):
			bad(contract.Invalid, "envPrefix", "%q is not a C identifier", c.EnvPrefix)
		case c.EnvPrefix != "" && !contract.SafeEnvPrefix(c.EnvPrefix):
			bad(contract.Reserved, "envPrefix", "%q could form a reserved name (%s, OPENCODE_*)", c.EnvPrefix, contract.ReservedEnvList)
		}
	}
	if c.MountPath != "" {
		if why := contract.CheckPath(c.MountPath); why != "" {
			bad(contract.Invalid, "mountPath", "%q %s", c.MountPath, why)
		} else {
			for _, r := range contract.ReservedPaths() {
				if contract.Overlaps(c.MountPath, r) {
					bad(contract.Reserved, "mountPath", "%q overlaps the reserved path %q", c.MountPath, r)
					break
				}
			}
		}
		if c.FileMode != nil && (*c.FileMode < 0 || *c.FileMode > 0o777 || *c.FileMode&0o022 != 0) {
			bad(contract.Invalid, "fileMode", "%#o must be within 0000-0777 without group or other write bits", *c.FileMode)
		}
	}
	return errs
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
// Apply checks everything before changing anything: on error, spec is unchanged. The error
// reports every problem (an [*Errors] of [*Error] values naming the credential, the container or
// the PodSpec field).
func (p *Projection) Apply(spec *corev1.PodSpec, containerNames ...string) error {
	if spec == nil {
		return toError(field.ErrorList{field.Required(field.NewPath("PodSpec"), "is nil")})
	}
	var errs field.ErrorList
	if len(containerNames) == 0 {
		errs = append(errs, field.Required(field.NewPath("containerNames"), "name at least one container to receive the credentials"))
	}
	targets := make([]*corev1.Container, 0, len(containerNames))
	for i, name := range containerNames {
		c := findContainer(spec, name)
		switch {
		case c == nil || name == StagingContainerName:
			errs = append(errs, newErr(contract.Invalid, field.NewPath("containerNames").Index(i), "the PodSpec has no container %q", name))
		case slices.Contains(targets, c):
			errs = append(errs, newErr(contract.Invalid, field.NewPath("containerNames").Index(i), "container %q is named twice", name))
		default:
			targets = append(targets, c)
		}
	}
	if p.staging != nil {
		errs = append(errs, p.checkStaging(spec, targets)...)
	}
	for _, c := range targets {
		errs = append(errs, p.checkContainer(spec, c)...)
	}
	if len(errs) > 0 {
		return toError(errs)
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

func (p *Projection) checkStaging(spec *corev1.PodSpec, targets []*corev1.Container) field.ErrorList {
	var errs field.ErrorList
	ps := field.NewPath("PodSpec")
	if findContainer(spec, StagingContainerName) != nil {
		errs = append(errs, newErr(contract.Conflict, ps.Child("initContainers").Key(StagingContainerName),
			"already exists (was the projection applied twice?)"))
	}
	for _, v := range p.volumes {
		for _, existing := range spec.Volumes {
			if existing.Name == v.Name {
				errs = append(errs, newErr(contract.Conflict, ps.Child("volumes").Key(v.Name), "already exists"))
			}
		}
	}
	if sc := spec.SecurityContext; sc != nil && sc.FSGroup != nil && *sc.FSGroup != p.gid {
		errs = append(errs, newErr(contract.Conflict, ps.Child("securityContext", "fsGroup"),
			"is %d, but file credentials need the agent GID %d", *sc.FSGroup, p.gid))
	}
	for _, c := range targets {
		uid := effectiveUID(spec, c)
		if uid == nil || *uid != p.uid {
			got := "unset (the image's user)"
			if uid != nil {
				got = strconv.FormatInt(*uid, 10)
			}
			errs = append(errs, newErr(contract.Conflict, ps.Child("containers").Key(c.Name).Child("runAsUser"),
				"is %s, but staged credential files are owned by UID %d and readable by no other", got, p.uid))
		}
	}
	return errs
}

func (p *Projection) checkContainer(spec *corev1.PodSpec, c *corev1.Container) field.ErrorList {
	var errs field.ErrorList
	credential := field.NewPath("credentials")
	for i, e := range p.env {
		for _, existing := range c.Env {
			if existing.Name == e.Name {
				errs = append(errs, newErr(contract.Conflict, credential.Key(p.envOf[i]).Child("env"),
					"%q is already set in container %q", e.Name, c.Name))
			}
		}
	}
	for i, m := range p.mounts {
		mp := func() *field.Path { return credential.Key(p.mountOf[i]).Child("mountPath") }
		for _, o := range c.VolumeMounts {
			switch {
			case o.MountPath == m.MountPath:
				errs = append(errs, newErr(contract.Conflict, mp(), "%q is already used in container %q by volume %q",
					m.MountPath, c.Name, o.Name))
			case contract.Within(o.MountPath, m.MountPath):
				errs = append(errs, newErr(contract.Conflict, mp(), "%q would shadow the mount %q (volume %q) in container %q",
					m.MountPath, o.MountPath, o.Name, c.Name))
			case contract.Within(m.MountPath, o.MountPath) && !scratch(spec, o):
				errs = append(errs, newErr(contract.Conflict, mp(),
					"%q would shadow part of the mount %q (volume %q) in container %q, which is not a writable emptyDir",
					m.MountPath, o.MountPath, o.Name, c.Name))
			}
		}
	}
	return errs
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
