package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConfigName is the only name a KubeOpenCodeConfig may have: it is a cluster singleton.
const ConfigName = "cluster"

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=koc,categories=kubeopencode
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",message="metadata.name must be cluster: KubeOpenCodeConfig is a cluster singleton"

// KubeOpenCodeConfig is the cluster-wide configuration of KubeOpenCode. It is cluster-scoped and
// the only accepted name is "cluster".
type KubeOpenCodeConfig struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata; name must be "cluster".
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the configuration.
	// +optional
	Spec KubeOpenCodeConfigSpec `json:"spec,omitempty"`

	// status is the configuration's state as observed by the operator.
	// +optional
	Status KubeOpenCodeConfigStatus `json:"status,omitempty"`
}

// KubeOpenCodeConfigSpec is the cluster-wide configuration.
type KubeOpenCodeConfigSpec struct {
	// systemImage is the image of the operator's helper containers (context and git init).
	// Unset: the operator's built-in default.
	// +optional
	SystemImage *SystemImageConfig `json:"systemImage,omitempty"`

	// cleanup deletes finished Tasks. Unset: finished Tasks are kept.
	// +optional
	Cleanup *CleanupConfig `json:"cleanup,omitempty"`

	// agentPodDefaults apply to every agent Pod unless the Agent overrides them.
	// +optional
	AgentPodDefaults *AgentPodDefaults `json:"agentPodDefaults,omitempty"`

	// caBundle is the CA bundle of every Agent without its own spec.caBundle. Pods read
	// ConfigMaps of their own namespace only, so the ConfigMap must exist under this name in
	// each Agent's namespace (cert-manager's trust-manager distributes one that way).
	// +optional
	CABundle *CABundleConfig `json:"caBundle,omitempty"`
}

// SystemImageConfig selects the operator's helper image.
type SystemImageConfig struct {
	// image reference. At most 512 characters, no whitespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`
	Image string `json:"image,omitempty"`

	// imagePullPolicy is Always, IfNotPresent (default) or Never.
	// +optional
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
}

// CleanupConfig says when finished (Completed or Failed) Tasks are deleted. When both are set a
// Task is deleted as soon as either says so.
type CleanupConfig struct {
	// ttlSecondsAfterFinished deletes a Task this many seconds after its completionTime.
	// 0–2592000 (30 days). Unset: no time-based deletion.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2592000
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// maxRetainedTasks keeps at most this many finished Tasks per namespace, deleting the
	// oldest first. 0–100000. Unset: no count-based deletion.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	MaxRetainedTasks *int32 `json:"maxRetainedTasks,omitempty"`
}

// AgentPodDefaults are cluster-wide defaults for agent Pods.
type AgentPodDefaults struct {
	// resources of the agent container when the Agent sets none.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// initContainerResources are the resources of every init container of agent Pods (agent-init,
	// stage-credentials, git-clone-*), so that a namespace whose ResourceQuota requires requests
	// and limits accepts agent Pods. Default: requests cpu 100m, memory 128Mi; limits cpu 1,
	// memory 512Mi. The agent container's resources are agentPodDefaults.resources or the
	// Agent's podSpec.resources.
	// +optional
	InitContainerResources *corev1.ResourceRequirements `json:"initContainerResources,omitempty"`

	// volumeSizeLimits bound the scratch volumes of agent Pods unless the Agent's
	// podSpec.volumeSizeLimits says otherwise. Defaults: workspace 10Gi, home 2Gi, tmp 2Gi, git
	// 10Gi.
	// +optional
	VolumeSizeLimits *VolumeSizeLimits `json:"volumeSizeLimits,omitempty"`

	// runAsUser is the UID of agent containers: 1–2147483647, default 65532. Never root.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=2147483647
	RunAsUser *int64 `json:"runAsUser,omitempty"`

	// runAsGroup is the primary GID of agent containers (and their fsGroup): 1–2147483647,
	// default 65532. Never the root group.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=2147483647
	RunAsGroup *int64 `json:"runAsGroup,omitempty"`
}

// KubeOpenCodeConfigStatus is the state of the configuration as observed by the operator.
type KubeOpenCodeConfigStatus struct {
	// observedGeneration is the metadata.generation the status describes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the configuration (Ready).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// KubeOpenCodeConfigList is a list of KubeOpenCodeConfigs (there is at most one).
type KubeOpenCodeConfigList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the KubeOpenCodeConfigs.
	Items []KubeOpenCodeConfig `json:"items"`
}
