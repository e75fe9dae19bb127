package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced

// SandboxTemplate is owned by a platform team: it says how sandboxes run (images, service account,
// credentials from Secrets of its own namespace) and which namespaces may run sandboxes on it.
// Sandbox Pods run in the template's namespace, next to its Secrets.
type SandboxTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the template.
	// +required
	Spec SandboxTemplateSpec `json:"spec"`
}

// SandboxTemplateSpec is how sandboxes run. The controller validates credentials and paths with
// the libraries, so a template the CRD accepts can still be refused (Ready=False, InvalidTemplate).
type SandboxTemplateSpec struct {
	// toolsImage runs as the init container that copies tools into /tools.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	ToolsImage string `json:"toolsImage"`

	// image runs the sandbox's command.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`

	// serviceAccountName in the template's namespace; its token is never mounted.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// runtimeClassName, e.g. gvisor.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	RuntimeClassName string `json:"runtimeClassName,omitempty"`

	// allowedNamespaces whose Sandboxes may use the template, as names or globs ("team-*");
	// empty means the template's own namespace only.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`

	// credentials expose Secrets of the template's namespace, as an env variable or a file.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Credentials []Credential `json:"credentials,omitempty"`
}

// Credential exposes one key of a Secret as an environment variable (env) or as a file
// (mountPath, fileMode default 0600) readable by the sandbox's user only.
type Credential struct {
	// name identifies the credential.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// secretName in the template's namespace.
	// +required
	SecretName string `json:"secretName"`
	// key of the Secret.
	// +required
	Key string `json:"key"`
	// env receives the key's value.
	// +optional
	Env string `json:"env,omitempty"`
	// mountPath receives the key's value as a file.
	// +optional
	MountPath string `json:"mountPath,omitempty"`
	// fileMode of the file, e.g. 0400 (256). Only with mountPath.
	// +optional
	FileMode *int32 `json:"fileMode,omitempty"`
}

// +kubebuilder:object:root=true

// SandboxTemplateList is a list of SandboxTemplates.
type SandboxTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SandboxTemplate `json:"items"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`

// Sandbox runs one command on a SandboxTemplate, possibly one of another namespace that invites
// the Sandbox's namespace. Its spec is immutable.
type Sandbox struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what to run. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable"
	Spec SandboxSpec `json:"spec"`

	// status is observed by the controller.
	// +optional
	Status SandboxStatus `json:"status,omitempty"`
}

// SandboxSpec is what a Sandbox runs.
type SandboxSpec struct {
	// templateRef names the template.
	// +required
	TemplateRef TemplateReference `json:"templateRef"`

	// command runs in the template's image.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Command []string `json:"command"`
}

// TemplateReference names a SandboxTemplate.
type TemplateReference struct {
	// name of the template.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// namespace of the template; unset: the Sandbox's own.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SandboxStatus is what the controller observed.
type SandboxStatus struct {
	// podName and podNamespace are informational: the controller finds its Pod by label.
	// +optional
	PodName string `json:"podName,omitempty"`
	// +optional
	PodNamespace string `json:"podNamespace,omitempty"`
	// conditions: Ready (True once the Pod exists; False with the reason it was refused).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// SandboxList is a list of Sandboxes.
type SandboxList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Sandbox `json:"items"`
}
