package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// Environment variables the operator sets on the agent container (reserved for it by the shared
// contract: credentials may not set TASK_*, KUBEOPENCODE_* or OPENCODE_CONFIG_CONTENT).
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

// Built-in bounds of agent Pods, used where neither KubeOpenCodeConfig's agentPodDefaults nor the
// Agent's podSpec says otherwise: sizeLimits of the scratch emptyDirs (the kubelet evicts a Pod
// that writes more, so one agent cannot fill its node's disk) and the resources of every init
// container (so that a namespace whose ResourceQuota requires requests and limits accepts agent
// Pods). The agent container's resources are the Agent's or agentPodDefaults' only.
var (
	DefaultWorkspaceSizeLimit = resource.MustParse("10Gi")
	DefaultHomeSizeLimit      = resource.MustParse("2Gi")
	DefaultTmpSizeLimit       = resource.MustParse("2Gi")
	DefaultGitSizeLimit       = resource.MustParse("10Gi")
)

// DefaultInitContainerResources are the resources of every init container of an agent Pod
// (agent-init, stage-credentials, git-clone-*) unless agentPodDefaults.initContainerResources
// says otherwise: requests cpu 100m, memory 128Mi; limits cpu 1, memory 512Mi.
func DefaultInitContainerResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
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

// taskError is a decision that ends a Task: a condition reason and a message for its author.
type taskError struct {
	reason  string
	message string
}

func (e *taskError) Error() string { return e.reason + ": " + e.message }

// podInputs is what buildPod needs besides the Task.
type podInputs struct {
	agent  *v1alpha1.Agent
	config *v1alpha1.KubeOpenCodeConfig // nil: defaults
	opts   Options
	// configMaps are the ConfigMaps read for the contexts; nil when validating an Agent.
	configMaps *resolvedConfigMaps
}

// buildPod assembles the agent Pod of a Task with podspec and credentials, and the Task's context
// ConfigMap when its contexts need one (nil otherwise). It does no I/O. An error is a
// *taskError: the Agent cannot run this Task as written (threat T16: never a weaker Pod).
func buildPod(task *v1alpha1.Task, in podInputs) (*corev1.Pod, *corev1.ConfigMap, error) {
	agent := in.agent
	spec := agent.Spec
	opts := in.opts
	var defaults v1alpha1.AgentPodDefaults
	var sysImage v1alpha1.SystemImageConfig
	if in.config != nil {
		if d := in.config.Spec.AgentPodDefaults; d != nil {
			defaults = *d
		}
		if s := in.config.Spec.SystemImage; s != nil {
			sysImage = *s
		}
	}
	if sysImage.Image == "" {
		sysImage.Image = opts.SystemImage
	}
	if sysImage.ImagePullPolicy == "" {
		sysImage.ImagePullPolicy = opts.SystemImagePullPolicy
	}
	uid, gid := ptr.Deref(defaults.RunAsUser, v1alpha1.DefaultAgentUID), ptr.Deref(defaults.RunAsGroup, v1alpha1.DefaultAgentGID)

	invalid := func(format string, args ...any) error {
		return &taskError{reason: v1alpha1.ReasonInvalidConfiguration, message: agentProblem(task, agent, fmt.Sprintf(format, args...))}
	}
	if spec.Config != "" && !json.Valid([]byte(spec.Config)) {
		return nil, nil, invalid("spec.config is not valid JSON")
	}

	creds := make([]credentials.Credential, 0, len(spec.Credentials))
	for _, c := range spec.Credentials {
		if c.SecretRef.Key == "" && c.MountPath == "" && c.EnvPrefix == "" {
			// Decided here rather than relaxed with AllowUnprefixedEnvFrom: whoever writes the
			// Secret could otherwise set PATH or TASK_* (T10, T16).
			return nil, nil, invalid("spec.credentials[%q]: a whole Secret exposed as environment variables needs envPrefix, "+
				"because its keys could name reserved variables such as PATH or TASK_*", c.Name)
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
		reason := v1alpha1.ReasonInvalidConfiguration
		if errors.Is(err, credentials.ErrConflict) {
			reason = v1alpha1.ReasonPathConflict
		}
		return nil, nil, &taskError{reason: reason, message: agentProblem(task, agent, "spec.credentials: "+err.Error())}
	}

	s := podspec.Spec{
		Identity: podspec.Identity{
			OwnerUID: string(task.UID), OwnerName: task.Name, OwnerNamespace: task.Namespace, GroupName: agent.Name,
			GroupUID: string(agent.UID),
		},
		Namespace:          agent.Namespace,
		AgentImage:         orDefault(spec.AgentImage, opts.DefaultAgentImage),
		ExecutorImage:      orDefault(spec.ExecutorImage, opts.DefaultExecutorImage),
		WorkspaceDir:       string(spec.WorkspaceDir),
		Command:            opts.DefaultCommand,
		Env:                agentEnv(task, agent),
		ServiceAccountName: spec.ServiceAccountName,
		Deadline:           NoTimeoutDeadline,
		UID:                uid,
		GID:                gid,
		Projections:        []podspec.Projection{proj},
		Relax:              podspec.Relax{AutomountServiceAccountToken: ptr.Deref(spec.AutomountServiceAccountToken, false)},
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
	plan, err := planContexts(task, agent, contextInputs{
		workspace: workspaceDir(spec), configMap: contextConfigMapName(task),
		systemImage: sysImage.Image, pullPolicy: sysImage.ImagePullPolicy, resolved: in.configMaps,
		gitSizeLimit: limits.Git,
		caBundle:     caBundleRef(&spec, in.config),
	})
	if err != nil {
		return nil, nil, err
	}
	if task.Spec.Description != "" {
		// <workspaceDir>/task.md: the description, read by the kubelet from the Pod's own
		// annotation (set below), so it costs no ConfigMap and no write.
		s.Files = []podspec.File{{Path: workspaceDir(spec) + "/" + v1alpha1.TaskFileName, FieldPath: descriptionFieldPath}}
	}
	s.Files = append(s.Files, plan.files...)
	if ref := caBundleRef(&spec, in.config); ref != nil {
		// The agent's copy: a file of the Pod's namespace ConfigMap, named by the variables
		// OpenCode (Bun: NODE_EXTRA_CA_CERTS, added to its roots) and other tools read.
		s.Files = append(s.Files, podspec.File{Path: CABundlePath, ConfigMap: ref.Name, Key: caBundleKey(ref)})
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
		reason := v1alpha1.ReasonInvalidConfiguration
		pathConflict := podspec.IsPathConflict(err)
		if errors.Is(err, podspec.ErrConflict) || pathConflict {
			reason = v1alpha1.ReasonPathConflict
		}
		if pathConflict && len(task.Spec.Contexts) > 0 {
			// The Task's own paths may be involved: its author gets both paths (T11).
			return nil, nil, &taskError{reason: reason, message: "contexts: " + err.Error()}
		}
		return nil, nil, &taskError{reason: reason, message: agentProblem(task, agent, err.Error())}
	}
	// The description travels in an annotation the operator sets (after podspec, which keeps
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
	var cm *corev1.ConfigMap
	if plan.needsConfigMap() {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: contextConfigMapName(task),
				Labels: map[string]string{}, OwnerReferences: pod.OwnerReferences},
			Data: plan.data, BinaryData: plan.binary, Immutable: ptr.To(true),
		}
		for _, k := range []string{v1alpha1.ManagedByLabel, v1alpha1.CreatedByLabel, v1alpha1.TaskUIDLabel, v1alpha1.TaskNameLabel, v1alpha1.TaskNamespaceLabel, v1alpha1.AgentLabel, v1alpha1.AgentUIDLabel} {
			if v, ok := pod.Labels[k]; ok {
				cm.Labels[k] = v
			}
		}
	}
	if opts.MutatePod != nil {
		opts.MutatePod(pod)
	}
	return pod, cm, nil
}

// agentEnv is what the operator tells the agent about its Task and Agent.
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

// agentProblem words a problem of the Agent for the Task's author. A Task from another namespace
// learns only that the Agent is misconfigured: the details (Secret names, paths) belong to the
// platform team and are in the Agent's Ready condition.
func agentProblem(task *v1alpha1.Task, agent *v1alpha1.Agent, detail string) string {
	if task.Namespace != agent.Namespace {
		return fmt.Sprintf("Agent %s/%s cannot run Tasks as configured; its Ready condition says why (ask the platform team that owns namespace %q)",
			agent.Namespace, agent.Name, agent.Namespace)
	}
	return fmt.Sprintf("Agent %s/%s cannot run this Task: %s", agent.Namespace, agent.Name, detail)
}

// contextConfigMapName is the name of the Task's context ConfigMap in the Agent's namespace:
// derived from the Task's name and UID like the Pod's (T4).
func contextConfigMapName(t *v1alpha1.Task) string { return podName(t) }

// descriptionFieldPath is the downward API path of the description annotation.
const descriptionFieldPath = "metadata.annotations['" + DescriptionAnnotation + "']"

// workspaceDir is the Agent's workspace (podspec's default when unset).
func workspaceDir(spec v1alpha1.AgentSpec) string {
	return orDefault(string(spec.WorkspaceDir), podspec.DefaultWorkspaceDir)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// validationTask is the stand-in Task the AgentReconciler builds a Pod for, to find what the
// schema cannot check.
func validationTask(agent *v1alpha1.Agent) *v1alpha1.Task {
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
