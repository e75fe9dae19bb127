package taskpod

import (
	"encoding/json"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// Environment variables set on the agent container (reserved by the shared contract: credentials
// may not set TASK_*, KUBEOPENCODE_* or OPENCODE_CONFIG_CONTENT), and the Pod annotation that
// carries the Task's description.
const (
	EnvTaskName        = "TASK_NAME"
	EnvTaskNamespace   = "TASK_NAMESPACE"
	EnvTaskUID         = "TASK_UID"
	EnvTaskDescription = "TASK_DESCRIPTION"
	EnvAgentName       = "KUBEOPENCODE_AGENT_NAME"
	EnvAgentNamespace  = "KUBEOPENCODE_AGENT_NAMESPACE"
	EnvOpenCodeConfig  = "OPENCODE_CONFIG_CONTENT"
	// EnvNodeExtraCACerts and EnvCABundle name the Agent's caBundle file in the agent container.
	EnvNodeExtraCACerts   = "NODE_EXTRA_CA_CERTS"
	EnvCABundle           = "KUBEOPENCODE_CA_BUNDLE"
	DescriptionAnnotation = "kubeopencode.io/task-description"
)

const (
	// SystemBinary is the path of the kubeopencode binary in the system image: its
	// stage-credentials and git-clone subcommands are the Pod's init steps.
	SystemBinary = "/usr/local/bin/kubeopencode"
	// NoTimeoutDeadline is the Pod's activeDeadlineSeconds for a Task without spec.timeout: the
	// longest timeout a Task may ask for (podspec cannot express "no deadline").
	NoTimeoutDeadline = 24 * time.Hour
)

// DefaultCommand is the agent container's command when an Agent sets no spec.command and
// [Defaults].Command is empty. Kubernetes expands $(TASK_DESCRIPTION) itself (no shell), from
// the environment variable set to the Task's description (also in <workspaceDir>/task.md). One
// argument is limited to 128 KiB by Linux, so a description of 65536 multi-byte characters needs
// an Agent command that reads task.md instead.
func DefaultCommand() []string {
	return []string{"/tools/opencode", "run", "$(" + EnvTaskDescription + ")"}
}

// Built-in bounds of agent Pods, used where neither KubeOpenCodeConfig's agentPodDefaults nor the
// Agent's podSpec says otherwise: sizeLimits of the scratch emptyDirs (the kubelet evicts a Pod
// that writes more, so one agent cannot fill its node's disk). The agent container's resources
// are the Agent's or agentPodDefaults' only.
var (
	DefaultWorkspaceSizeLimit = resource.MustParse("10Gi")
	DefaultHomeSizeLimit      = resource.MustParse("2Gi")
	DefaultTmpSizeLimit       = resource.MustParse("2Gi")
	DefaultGitSizeLimit       = resource.MustParse("10Gi")
)

// DefaultInitContainerResources are the resources of every init container of an agent Pod
// (agent-init, stage-credentials, git-clone-*) unless agentPodDefaults.initContainerResources
// says otherwise, so that a namespace whose ResourceQuota requires requests and limits accepts
// agent Pods: requests cpu 100m, memory 128Mi; limits cpu 1, memory 512Mi.
func DefaultInitContainerResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
}

// Defaults are what the caller (the operator's flags) decides where neither the Agent nor
// KubeOpenCodeConfig does. There are no built-in images: an Agent without agentImage or
// executorImage, with an empty default, cannot run (podspec refuses the Pod, reported under the
// Agent's spec), and credential files and Git contexts need a system image.
type Defaults struct {
	// AgentImage and ExecutorImage when an Agent sets no agentImage or executorImage.
	AgentImage, ExecutorImage string
	// SystemImage runs the init steps (credential staging, git-clone) unless KubeOpenCodeConfig
	// spec.systemImage says otherwise; SystemImagePullPolicy likewise.
	SystemImage           string
	SystemImagePullPolicy corev1.PullPolicy
	// Command when an Agent sets no spec.command; empty means DefaultCommand().
	Command []string
}

// Input is everything Build reads. Build reads nothing else: no API server, no clock.
type Input struct {
	Task  *v1alpha1.Task
	Agent *v1alpha1.Agent
	// Config is KubeOpenCodeConfig "cluster"; nil means none.
	Config   *v1alpha1.KubeOpenCodeConfig
	Defaults Defaults
	// ConfigMaps are the ConfigMaps the caller read for the contexts ([ConfigMapsToRead]). nil
	// means their content was not read (validating an Agent): a placeholder stands in for it.
	ConfigMaps *ConfigMaps
}

// Result is what a Task needs created: its Pod, and its context ConfigMap when its contexts need
// one (nil otherwise). Both are in the Agent's namespace.
type Result struct {
	Pod              *corev1.Pod
	ContextConfigMap *corev1.ConfigMap
}

// Build assembles the agent Pod of a Task with podspec and credentials, and the Task's context
// ConfigMap. It does no I/O and reads no clock; the same Input gives the same Result. The error
// is an *[Error] listing every problem: the Agent cannot run this Task as written, and a weaker
// Pod is never the answer (threat T16).
func Build(in Input) (*Result, error) {
	task, agent := in.Task, in.Agent
	spec := agent.Spec
	var defaults v1alpha1.AgentPodDefaults
	var sysImage v1alpha1.SystemImageConfig
	if in.Config != nil {
		if d := in.Config.Spec.AgentPodDefaults; d != nil {
			defaults = *d
		}
		if s := in.Config.Spec.SystemImage; s != nil {
			sysImage = *s
		}
	}
	if sysImage.Image == "" {
		sysImage.Image = in.Defaults.SystemImage
	}
	if sysImage.ImagePullPolicy == "" {
		sysImage.ImagePullPolicy = in.Defaults.SystemImagePullPolicy
	}
	uid, gid := ptr.Deref(defaults.RunAsUser, v1alpha1.DefaultAgentUID), ptr.Deref(defaults.RunAsGroup, v1alpha1.DefaultAgentGID)

	var probs problems
	specPath := field.NewPath("spec")
	if spec.Config != "" && !json.Valid([]byte(spec.Config)) {
		probs.addAgent(false, invalid(specPath.Child("config"), "must be valid JSON"))
	}

	creds := make([]credentials.Credential, 0, len(spec.Credentials))
	for i, c := range spec.Credentials {
		if c.SecretRef.Key == "" && c.MountPath == "" && c.EnvPrefix == "" {
			// Decided here rather than relaxed with AllowUnprefixedEnvFrom: whoever writes the
			// Secret could otherwise set PATH or TASK_* (T10, T16).
			probs.addAgent(false, field.Required(specPath.Child("credentials").Index(i).Child("envPrefix"),
				"a whole Secret exposed as environment variables needs envPrefix, because its keys could name reserved variables such as PATH or TASK_*"))
			continue
		}
		creds = append(creds, credentials.Credential{
			Name: c.Name, SecretName: c.SecretRef.Name, Key: c.SecretRef.Key, Env: c.Env,
			EnvPrefix: c.EnvPrefix, MountPath: string(c.MountPath), FileMode: (*int32)(c.FileMode),
		})
	}
	proj, err := credentials.Project(creds, credentials.Options{
		UID: uid, GID: gid,
		StagingImage: sysImage.Image, StagingImagePullPolicy: sysImage.ImagePullPolicy,
		StagingCommand: []string{SystemBinary, "stage-credentials"},
	})
	if err != nil {
		probs.addAgent(errors.Is(err, credentials.ErrConflict), libraryProblems(specPath, err)...)
	}

	workspace := WorkspaceDir(spec)
	s := podspec.Spec{
		Identity: podspec.Identity{
			OwnerUID: string(task.UID), OwnerName: task.Name, OwnerNamespace: task.Namespace, GroupName: agent.Name,
			GroupUID: string(agent.UID),
		},
		Namespace:          agent.Namespace,
		AgentImage:         orDefault(spec.AgentImage, in.Defaults.AgentImage),
		ExecutorImage:      orDefault(spec.ExecutorImage, in.Defaults.ExecutorImage),
		WorkspaceDir:       string(spec.WorkspaceDir),
		Command:            in.Defaults.Command,
		Env:                agentEnv(task, agent),
		ServiceAccountName: spec.ServiceAccountName,
		Deadline:           NoTimeoutDeadline,
		UID:                uid,
		GID:                gid,
		Relax:              podspec.Relax{AutomountServiceAccountToken: ptr.Deref(spec.AutomountServiceAccountToken, false)},
	}
	if len(s.Command) == 0 {
		s.Command = DefaultCommand()
	}
	if proj != nil {
		s.Projections = []podspec.Projection{proj}
	}
	var agentLimits *v1alpha1.VolumeSizeLimits
	if spec.PodSpec != nil {
		agentLimits = spec.PodSpec.VolumeSizeLimits
	}
	limits := volumeSizeLimits(agentLimits, defaults.VolumeSizeLimits)
	s.WorkspaceSizeLimit, s.HomeSizeLimit, s.TmpSizeLimit = limits.Workspace, limits.Home, limits.Tmp
	s.InitContainerResources = DefaultInitContainerResources()
	if defaults.InitContainerResources != nil {
		s.InitContainerResources = *defaults.InitContainerResources.DeepCopy()
	}
	caBundle := caBundleRef(&spec, in.Config)
	plan := planContexts(task, agent, contextInputs{
		workspace: workspace, configMap: ContextConfigMapName(task),
		systemImage: sysImage.Image, pullPolicy: sysImage.ImagePullPolicy, resolved: in.ConfigMaps,
		gitSizeLimit: limits.Git, caBundle: caBundle,
	}, &probs)
	if !probs.empty() {
		// The Pod would be assembled from parts already refused: its own errors add nothing.
		return nil, probs.err(task, agent)
	}
	if task.Spec.Description != "" {
		// <workspaceDir>/task.md: the description, read by the kubelet from the Pod's own
		// annotation (set below), so it costs no ConfigMap and no write.
		s.Files = []podspec.File{{Path: workspace + "/" + v1alpha1.TaskFileName, FieldPath: descriptionFieldPath}}
	}
	s.Files = append(s.Files, plan.files...)
	if caBundle != nil {
		// The agent's copy: a file of the Pod's namespace ConfigMap, named by the variables
		// OpenCode (Bun: NODE_EXTRA_CA_CERTS, added to its roots) and other tools read.
		s.Files = append(s.Files, podspec.File{Path: CABundlePath, ConfigMap: caBundle.Name, Key: caBundleKey(caBundle)})
		s.Env = append(s.Env, corev1.EnvVar{Name: EnvNodeExtraCACerts, Value: CABundlePath}, corev1.EnvVar{Name: EnvCABundle, Value: CABundlePath})
	}
	s.Volumes = plan.volumes
	s.VolumeMounts = plan.mounts
	s.InitContainers = plan.inits
	if len(spec.Command) > 0 {
		s.Command = spec.Command
	}
	if task.Spec.Timeout != nil {
		s.Deadline = task.Spec.Timeout.Duration
	}
	if defaults.Resources != nil {
		s.Resources = *defaults.Resources.DeepCopy()
	}
	if ps := spec.PodSpec; ps != nil {
		if len(ps.Labels) > 0 {
			s.Labels = make(map[string]string, len(ps.Labels))
			for k, v := range ps.Labels {
				s.Labels[k] = string(v)
			}
		}
		s.Annotations = ps.Annotations
		s.RuntimeClassName = ps.RuntimeClassName
		if ps.Resources != nil {
			s.Resources = *ps.Resources.DeepCopy()
		}
		if sch := ps.Scheduling; sch != nil {
			s.Scheduling = podspec.Scheduling{NodeSelector: sch.NodeSelector, Tolerations: sch.Tolerations, Affinity: sch.Affinity}
		}
	}
	pod, err := podspec.Build(s)
	if err != nil {
		pathConflict := podspec.IsPathConflict(err)
		conflict := errors.Is(err, podspec.ErrConflict) || pathConflict
		if pathConflict && len(task.Spec.Contexts) > 0 && buildsWithoutTaskContexts(in) {
			// The Task's contexts cause the conflict: its author gets both paths (T11). Were
			// the Agent's Pod refused without them too, every problem would be the Agent's, and
			// a Task of another namespace must not read them (its paths, its ConfigMap keys).
			probs.addTask(conflict, libraryProblems(specPath.Child("contexts"), err)...)
		} else {
			probs.addAgent(conflict, libraryProblems(specPath, err)...)
		}
		return nil, probs.err(task, agent)
	}
	// The description travels in an annotation set here (after podspec, which keeps
	// kubeopencode.io keys away from Agents): the agent reads it through the downward API, so it
	// costs no extra object and no extra write.
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[DescriptionAnnotation] = task.Spec.Description
	pod.Labels[v1alpha1.CreatedByLabel] = v1alpha1.CreatedByOperator
	if task.Namespace == agent.Namespace {
		// Same namespace: the garbage collector removes the Pod with its Task, which carries no
		// finalizer. (blockOwnerDeletion needs tasks/finalizers update.)
		pod.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: "Task", Name: task.Name, UID: task.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}}
	}
	out := &Result{Pod: pod}
	if plan.needsConfigMap() {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: ContextConfigMapName(task),
				Labels: map[string]string{}, OwnerReferences: pod.OwnerReferences},
			Data: plan.data, BinaryData: plan.binary, Immutable: ptr.To(true),
		}
		for _, k := range []string{v1alpha1.ManagedByLabel, v1alpha1.CreatedByLabel, v1alpha1.TaskUIDLabel, v1alpha1.TaskNameLabel, v1alpha1.TaskNamespaceLabel, v1alpha1.AgentLabel, v1alpha1.AgentUIDLabel} {
			if v, ok := pod.Labels[k]; ok {
				cm.Labels[k] = v
			}
		}
		out.ContextConfigMap = cm
	}
	return out, nil
}

// buildsWithoutTaskContexts reports whether the Task's Pod builds once the Task's own contexts
// are left out: whether the problems of the Pod with them are the Task's doing. It runs only when
// podspec has refused the Pod.
func buildsWithoutTaskContexts(in Input) bool {
	task := *in.Task
	task.Spec.Contexts = nil
	in.Task = &task
	_, err := Build(in)
	return err == nil
}

// volumeSizeLimits merges the Agent's sizeLimits over the cluster defaults over the built-in ones.
func volumeSizeLimits(agent, cluster *v1alpha1.VolumeSizeLimits) v1alpha1.VolumeSizeLimits {
	out := v1alpha1.VolumeSizeLimits{
		Workspace: ptr.To(DefaultWorkspaceSizeLimit.DeepCopy()), Home: ptr.To(DefaultHomeSizeLimit.DeepCopy()),
		Tmp: ptr.To(DefaultTmpSizeLimit.DeepCopy()), Git: ptr.To(DefaultGitSizeLimit.DeepCopy()),
	}
	for _, l := range []*v1alpha1.VolumeSizeLimits{cluster, agent} {
		if l == nil {
			continue
		}
		for _, f := range []struct{ from, to **resource.Quantity }{{&l.Workspace, &out.Workspace}, {&l.Home, &out.Home}, {&l.Tmp, &out.Tmp}, {&l.Git, &out.Git}} {
			if *f.from != nil {
				*f.to = ptr.To((*f.from).DeepCopy())
			}
		}
	}
	return out
}

// agentEnv is what the agent is told about its Task and Agent.
func agentEnv(task *v1alpha1.Task, agent *v1alpha1.Agent) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: EnvTaskName, Value: task.Name},
		{Name: EnvTaskNamespace, Value: task.Namespace},
		{Name: EnvTaskUID, Value: string(task.UID)},
		{Name: EnvTaskDescription, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			APIVersion: "v1", FieldPath: descriptionFieldPath,
		}}},
		{Name: EnvAgentName, Value: agent.Name},
		{Name: EnvAgentNamespace, Value: agent.Namespace},
	}
	if agent.Spec.Config != "" {
		env = append(env, corev1.EnvVar{Name: EnvOpenCodeConfig, Value: agent.Spec.Config})
	}
	return env
}

// descriptionFieldPath is the downward API path of the description annotation.
const descriptionFieldPath = "metadata.annotations['" + DescriptionAnnotation + "']"

// WorkspaceDir is the Agent's workspace (podspec's default when unset).
func WorkspaceDir(spec v1alpha1.AgentSpec) string {
	return orDefault(string(spec.WorkspaceDir), podspec.DefaultWorkspaceDir)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// ValidationTask is the stand-in Task an Agent's Pod is built for to find what the Agent's
// schema cannot check (its Ready condition): in the Agent's namespace, so every problem is
// reported with its details.
func ValidationTask(agent *v1alpha1.Agent) *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "validation", Namespace: agent.Namespace, UID: "00000000-0000-0000-0000-000000000000"},
		Spec: v1alpha1.TaskSpec{
			Description: "validation", AgentRef: v1alpha1.AgentReference{Name: agent.Name},
			Timeout: &metav1.Duration{Duration: time.Hour},
		},
	}
}

// caBundleRef is the Agent's caBundle ConfigMap reference, else the KubeOpenCodeConfig's, nil
// for none (the API refuses secretRef and requires configMapRef).
func caBundleRef(spec *v1alpha1.AgentSpec, config *v1alpha1.KubeOpenCodeConfig) *v1alpha1.CABundleReference {
	switch {
	case spec.CABundle != nil:
		return spec.CABundle.ConfigMapRef
	case config != nil && config.Spec.CABundle != nil:
		return config.Spec.CABundle.ConfigMapRef
	}
	return nil
}
