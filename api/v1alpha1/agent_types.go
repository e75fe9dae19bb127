package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=ag,categories=kubeopencode
// +kubebuilder:printcolumn:name="Service Account",type=string,JSONPath=`.spec.serviceAccountName`
// +kubebuilder:printcolumn:name="Max Tasks",type=integer,JSONPath=`.spec.maxConcurrentTasks`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Agent says how an AI coding agent runs: its images, workspace, credentials, Pod settings and
// which namespaces may send it Tasks. Platform teams own Agents; task authors reference them.
type Agent struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired configuration of the Agent.
	// +required
	Spec AgentSpec `json:"spec"`

	// status is the Agent's state as observed by the operator.
	// +optional
	Status AgentStatus `json:"status,omitempty"`
}

// AgentSpec is the configuration of an Agent.
//
// +kubebuilder:validation:XValidation:rule="!has(self.credentials) || !has(self.contexts) || !self.credentials.exists(c, has(c.mountPath) && self.contexts.exists(x, has(x.mountPath) && ((x.mountPath.startsWith('/') ? x.mountPath : self.workspaceDir + '/' + x.mountPath) == c.mountPath || (x.mountPath.startsWith('/') ? x.mountPath : self.workspaceDir + '/' + x.mountPath).startsWith(c.mountPath + '/') || c.mountPath.startsWith((x.mountPath.startsWith('/') ? x.mountPath : self.workspaceDir + '/' + x.mountPath) + '/'))))",message="a context mountPath (relative ones resolved under workspaceDir) must not equal, contain or lie under a credential mountPath",fieldPath=".contexts"
// +kubebuilder:validation:XValidation:rule="!has(self.credentials) || !self.credentials.exists(c, has(c.mountPath) && (c.mountPath == self.workspaceDir || self.workspaceDir.startsWith(c.mountPath + '/') || c.mountPath == self.workspaceDir + '/task.md' || c.mountPath == self.workspaceDir + '/.kubeopencode' || c.mountPath.startsWith(self.workspaceDir + '/.kubeopencode/')))",message="a credential mountPath must not be workspaceDir, contain it, or be <workspaceDir>/task.md or <workspaceDir>/.kubeopencode (written by the operator)",fieldPath=".credentials"
// +kubebuilder:validation:XValidation:rule="!has(self.contexts) || !self.contexts.exists(c, has(c.mountPath) && (c.mountPath == self.workspaceDir || self.workspaceDir.startsWith(c.mountPath + '/') || c.mountPath == self.workspaceDir + '/task.md' || c.mountPath == self.workspaceDir + '/.kubeopencode' || c.mountPath.startsWith(self.workspaceDir + '/.kubeopencode/') || c.mountPath == 'task.md' || c.mountPath == '.kubeopencode' || c.mountPath.startsWith('.kubeopencode/')))",message="a context mountPath must not be workspaceDir, contain it, or be <workspaceDir>/task.md or <workspaceDir>/.kubeopencode (written by the operator; relative: task.md, .kubeopencode)",fieldPath=".contexts"
type AgentSpec struct {
	// profile is a short human-readable summary of what the Agent is for. Documentation only.
	// At most 1024 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Profile string `json:"profile,omitempty"`

	// agentImage is the image of the init container that copies the OpenCode binary to /tools.
	// Unset: the operator's default. At most 512 characters, no whitespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`
	AgentImage string `json:"agentImage,omitempty"`

	// executorImage is the image of the container the agent runs in (its development
	// environment). Unset: the operator's default. At most 512 characters, no whitespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`
	ExecutorImage string `json:"executorImage,omitempty"`

	// workspaceDir is the agent's working directory. The operator writes <workspaceDir>/task.md and
	// <workspaceDir>/.kubeopencode/context.md and exports it as WORKSPACE_DIR. A path: absolute and
	// normalized (no empty, . or .. segment, no trailing /), not /, at most 1024 characters from
	// [A-Za-z0-9/._+@-]; not, containing or under /tools, /kubeopencode, /proc, /sys, /dev,
	// /var/run/secrets/kubernetes.io or /run/secrets/kubernetes.io; not /home/agent or /tmp.
	// +required
	WorkspaceDir AbsolutePath `json:"workspaceDir"`

	// command overrides the agent container's entrypoint. At most 32 arguments of at most 4096
	// characters each; the first (the program) must not be empty or only whitespace. Later
	// arguments may be empty strings (an empty argument is a valid argument).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || !self[0].matches('^[[:space:]]*$')",message="command[0], the program to run, must not be empty or only whitespace"
	Command []string `json:"command,omitempty"`

	// contexts are given to every Task of this Agent, before the Task's own. At most 16; no two
	// mountPaths may be equal or lie under one another, nor collide with credential mountPaths,
	// workspaceDir, <workspaceDir>/task.md or <workspaceDir>/.kubeopencode. An Agent's context may
	// be mounted at any absolute path the mountPath rules allow (the platform team's choice, the
	// OpenCode configuration included); a relative path is resolved under workspaceDir.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(a, !has(a.mountPath) || self.exists_one(b, has(b.mountPath) && b.mountPath == a.mountPath))",message="mountPath must be unique within contexts"
	// +kubebuilder:validation:XValidation:rule="!self.exists(a, has(a.mountPath) && self.exists(b, has(b.mountPath) && b.mountPath.startsWith(a.mountPath + '/')))",message="a context mountPath must not lie under another context's mountPath"
	// +kubebuilder:validation:XValidation:rule="self.all(a, !has(a.name) || self.exists_one(b, has(b.name) && b.name == a.name))",message="name must be unique within contexts"
	Contexts []ContextItem `json:"contexts,omitempty"`

	// config is the OpenCode configuration (opencode.json) as a JSON string. At most 65536
	// characters; the operator reports invalid JSON in the Ready condition.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Config string `json:"config,omitempty"`

	// credentials expose Secrets of the Agent's namespace to the agent, as environment
	// variables or files. At most 32, with unique names; no two mountPaths may be equal or lie
	// under one another. See Credential for the allowed combinations.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(a, !has(a.mountPath) || self.exists_one(b, has(b.mountPath) && b.mountPath == a.mountPath))",message="mountPath must be unique within credentials"
	// +kubebuilder:validation:XValidation:rule="!self.exists(a, has(a.mountPath) && self.exists(b, has(b.mountPath) && b.mountPath.startsWith(a.mountPath + '/')))",message="a credential mountPath must not lie under another credential's mountPath"
	// +kubebuilder:validation:XValidation:rule="self.all(a, !has(a.env) || self.exists_one(b, has(b.env) && b.env == a.env))",message="env must be unique within credentials"
	Credentials []Credential `json:"credentials,omitempty"`

	// podSpec holds Pod-level settings for agent Pods.
	// +optional
	PodSpec *AgentPodSpec `json:"podSpec,omitempty"`

	// serviceAccountName is the ServiceAccount, in the Agent's namespace, that agent Pods run
	// as; its RBAC is what the agent may do in the cluster. A DNS subdomain (RFC 1123), at most
	// 253 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ServiceAccountName string `json:"serviceAccountName"`

	// automountServiceAccountToken mounts the ServiceAccount token into agent Pods. Default
	// false: the agent gets no Kubernetes credentials unless the platform team asks for them.
	// +optional
	// +kubebuilder:default=false
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`

	// allowedNamespaces lists the namespaces whose Tasks may use this Agent, as names or glob
	// patterns. Pattern grammar: 1–63 characters from `[a-z0-9-*?]`, first and last character from
	// `[a-z0-9*?]`; `*` matches any run of characters (including none), `?` exactly one; a pattern
	// matches the whole namespace name, case-sensitively. An empty list means the Agent's own
	// namespace only; `"*"` means every namespace. At most 64 distinct entries.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$')",message="must be a namespace name or glob: 1-63 characters from [a-z0-9-*?], first and last character from [a-z0-9*?]"
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`

	// maxConcurrentTasks caps how many Tasks of this Agent run at once, counted across all
	// namespaces; others wait in phase Queued. Unset: no cap. 1–10000.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxConcurrentTasks *int32 `json:"maxConcurrentTasks,omitempty"`

	// quota limits how many Tasks of this Agent may start within a sliding window.
	// +optional
	Quota *QuotaConfig `json:"quota,omitempty"`

	// networkPolicy, when set, makes the operator isolate agent Pods with a default-deny egress
	// NetworkPolicy that allows only the listed destinations.
	// +optional
	NetworkPolicy *AgentNetworkPolicy `json:"networkPolicy,omitempty"`

	// caBundle names extra CA certificates (PEM) that the Agent's Pods trust for TLS, on top of
	// the images' own: git-clone init containers use them for https Git contexts, and the agent
	// container finds them at /kubeopencode/ca-bundle.crt, named by NODE_EXTRA_CA_CERTS (read
	// by OpenCode) and KUBEOPENCODE_CA_BUNDLE. TLS verification itself cannot be turned off.
	// The shape is upstream KubeOpenCode's; only configMapRef is supported (a CA bundle is
	// public), so a manifest with secretRef is refused rather than silently ignored. Unset:
	// KubeOpenCodeConfig spec.caBundle, if any.
	// +optional
	CABundle *CABundleConfig `json:"caBundle,omitempty"`
}

// CABundleConfig points at a CA bundle.
//
// +kubebuilder:validation:XValidation:rule="has(self.configMapRef)",message="configMapRef is required"
// +kubebuilder:validation:XValidation:rule="!has(self.secretRef)",message="secretRef is not supported: put the CA bundle (public certificates) in a ConfigMap and use configMapRef",fieldPath=".secretRef"
type CABundleConfig struct {
	// configMapRef is a ConfigMap in the Agent's namespace holding PEM certificates.
	// +optional
	ConfigMapRef *CABundleReference `json:"configMapRef,omitempty"`
	// secretRef exists for compatibility with upstream manifests, and is refused.
	// +optional
	SecretRef *CABundleReference `json:"secretRef,omitempty"`
}

// DefaultCABundleKey is the ConfigMap key read when caBundle.configMapRef.key is empty: the key
// cert-manager's trust-manager writes.
const DefaultCABundleKey = "ca-bundle.crt"

// CABundleReference names a ConfigMap and the key of its PEM certificates.
type CABundleReference struct {
	// name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// key of the PEM certificates in the ConfigMap; default "ca-bundle.crt".
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +optional
	Key string `json:"key,omitempty"`
}

// Credential exposes a Secret (or one key of it) to the agent. The allowed combinations are:
//
//	secretRef.key  env  mountPath  result
//	set            set  -          one environment variable `env` holding that key's value
//	set            -    set        one file at mountPath holding that key's value
//	-              -    -          every key of the Secret as an environment variable (envFrom),
//	                               named envPrefix + key
//	-              -    set        the whole Secret as a directory at mountPath, one file per key
//
// Everything else is refused: env and mountPath together, env without secretRef.key, a key with
// neither env nor mountPath, fileMode without mountPath, and envPrefix with secretRef.key or
// mountPath. Files get fileMode (default 0600). A whole Secret as environment variables needs
// envPrefix: its keys are not known in advance and could otherwise name reserved variables
// (PATH, TASK_*, ...); the operator fails a Task whose Agent has such a credential without one.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.env) && has(self.mountPath))",message="env and mountPath are mutually exclusive",fieldPath=".mountPath"
// +kubebuilder:validation:XValidation:rule="!has(self.env) || has(self.secretRef.key)",message="env requires secretRef.key (omit env and mountPath to expose every key of the Secret)",fieldPath=".env"
// +kubebuilder:validation:XValidation:rule="!has(self.secretRef.key) || has(self.env) || has(self.mountPath)",message="secretRef.key requires env or mountPath",fieldPath=".secretRef.key"
// +kubebuilder:validation:XValidation:rule="!has(self.fileMode) || has(self.mountPath)",message="fileMode requires mountPath",fieldPath=".fileMode"
// +kubebuilder:validation:XValidation:rule="!has(self.envPrefix) || (!has(self.secretRef.key) && !has(self.mountPath))",message="envPrefix applies only to a whole Secret exposed as environment variables (no secretRef.key, no mountPath)",fieldPath=".envPrefix"
type Credential struct {
	// name identifies the credential within the Agent. A DNS label (RFC 1123): 1–63 characters
	// from [a-z0-9-], starting and ending with a letter or digit.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// secretRef names the Secret, in the Agent's namespace, and optionally one key of it.
	// +required
	SecretRef SecretReference `json:"secretRef"`

	// env is the environment variable that receives secretRef.key. A C identifier
	// ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters) that is not reserved. Reserved are the
	// names the operator or the agent runtime sets: HOME, PATH, SHELL, USER (the container and its
	// shell), WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT (the operator, from spec.config), AGENT,
	// OPENCODE, OPENCODE_PID (OpenCode, for itself), and every name starting with TASK_ or
	// KUBEOPENCODE_ (the operator: TASK_NAME, TASK_NAMESPACE, TASK_UID, TASK_DESCRIPTION,
	// KUBEOPENCODE_AGENT_NAME, KUBEOPENCODE_AGENT_NAMESPACE, ...). Other OPENCODE_* names, such as
	// OPENCODE_API_KEY, are allowed.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z_][A-Za-z0-9_]*$')",message="must be a C identifier: [A-Za-z_][A-Za-z0-9_]*"
	// +kubebuilder:validation:XValidation:rule="!(self in ['HOME', 'PATH', 'SHELL', 'USER', 'WORKSPACE_DIR', 'OPENCODE_CONFIG_CONTENT', 'AGENT', 'OPENCODE', 'OPENCODE_PID']) && !self.startsWith('TASK_') && !self.startsWith('KUBEOPENCODE_')",message="is reserved: HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID and names starting with TASK_ or KUBEOPENCODE_ are set by the operator or the agent runtime"
	Env string `json:"env,omitempty"`

	// envPrefix is prepended to every key of a whole Secret exposed as environment variables
	// (neither secretRef.key nor mountPath set), and is required for that shape. A C identifier
	// of at most 64 characters that cannot form a reserved name: it must not be the beginning of
	// a reserved env name (see env) or of TASK_, KUBEOPENCODE_ or OPENCODE_ (e.g. "PA", "TASK" or
	// "OPEN"), nor start with TASK_, KUBEOPENCODE_ or OPENCODE_. Unlike env, no OPENCODE_* name
	// can be formed: the keys are chosen by whoever writes the Secret, and OpenCode reads
	// OPENCODE_* variables as its settings. Example: "GITHUB_".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z_][A-Za-z0-9_]*$')",message="must be a C identifier: [A-Za-z_][A-Za-z0-9_]*"
	// +kubebuilder:validation:XValidation:rule="!['HOME', 'PATH', 'SHELL', 'USER', 'WORKSPACE_DIR', 'OPENCODE_CONFIG_CONTENT', 'AGENT', 'OPENCODE', 'OPENCODE_PID', 'TASK_', 'KUBEOPENCODE_', 'OPENCODE_'].exists(r, r.startsWith(self)) && !['TASK_', 'KUBEOPENCODE_', 'OPENCODE_'].exists(p, self.startsWith(p))",message="could form a reserved name: it must not begin HOME, PATH, SHELL, USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID, TASK_, KUBEOPENCODE_ or OPENCODE_, nor start with TASK_, KUBEOPENCODE_ or OPENCODE_"
	EnvPrefix string `json:"envPrefix,omitempty"`

	// mountPath is where the key (a file) or the whole Secret (a directory) is mounted. A path:
	// absolute and normalized (no empty, . or .. segment, no trailing /), not /, at most 1024
	// characters from [A-Za-z0-9/._+@-]; not, containing or under /tools, /kubeopencode, /proc, /sys,
	// /dev, /var/run/secrets/kubernetes.io or /run/secrets/kubernetes.io; not /home/agent or /tmp.
	// +optional
	MountPath AbsolutePath `json:"mountPath,omitempty"`

	// fileMode of the mounted file(s): 0–0777 without group/other write; default 0600. Only
	// with mountPath.
	// +optional
	FileMode *FileMode `json:"fileMode,omitempty"`
}

// AgentPodSpec holds Pod-level settings for agent Pods.
type AgentPodSpec struct {
	// labels are added to agent Pods (e.g. to match a NetworkPolicy). At most 32; keys and
	// values must be valid label keys and values. Keys with the prefix kubeopencode.io or any
	// subdomain of it, and app.kubernetes.io/managed-by, are reserved for the operator.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') && (!k.contains('/') || k.indexOf('/') <= 253))",message="keys must be valid label keys: an optional DNS subdomain prefix (at most 253 characters) and /, then a name of 1-63 characters from [A-Za-z0-9-_.] starting and ending with a letter or digit"
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('kubeopencode.io/') || k.matches('^[^/]*[.]kubeopencode[.]io/') || k == 'app.kubernetes.io/managed-by')",message="keys with the prefix kubeopencode.io (or a subdomain of it) and app.kubernetes.io/managed-by are reserved for the operator"
	Labels map[string]LabelValue `json:"labels,omitempty"`

	// annotations are added to agent Pods. At most 32; keys must be valid annotation keys and
	// values at most 4096 characters. Keys with the prefix kubeopencode.io or any subdomain of
	// it, and app.kubernetes.io/managed-by, are reserved for the operator.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') && (!k.contains('/') || k.indexOf('/') <= 253))",message="keys must be valid annotation keys: an optional DNS subdomain prefix (at most 253 characters) and /, then a name of 1-63 characters from [A-Za-z0-9-_.] starting and ending with a letter or digit"
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.startsWith('kubeopencode.io/') || k.matches('^[^/]*[.]kubeopencode[.]io/') || k == 'app.kubernetes.io/managed-by')",message="keys with the prefix kubeopencode.io (or a subdomain of it) and app.kubernetes.io/managed-by are reserved for the operator"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 4096)",message="values must be at most 4096 characters"
	Annotations map[string]string `json:"annotations,omitempty"`

	// scheduling constrains the nodes agent Pods run on.
	// +optional
	Scheduling *PodScheduling `json:"scheduling,omitempty"`

	// runtimeClassName selects a RuntimeClass (e.g. gvisor or kata) for stronger isolation. A
	// DNS subdomain (RFC 1123), at most 253 characters.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	RuntimeClassName string `json:"runtimeClassName,omitempty"`

	// resources of the agent container. Unset: KubeOpenCodeConfig's agentPodDefaults.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// volumeSizeLimits bound the agent Pod's scratch volumes; each field left unset takes
	// KubeOpenCodeConfig's agentPodDefaults.volumeSizeLimits, then the built-in default.
	// +optional
	VolumeSizeLimits *VolumeSizeLimits `json:"volumeSizeLimits,omitempty"`
}

// VolumeSizeLimits are the sizeLimit of the emptyDir volumes of agent Pods: the kubelet evicts a
// Pod that writes more, so one agent cannot fill its node's disk. Built-in defaults: workspace
// 10Gi, home 2Gi, tmp 2Gi, git 10Gi (each Git context's checkout). Each is a quantity greater
// than zero.
type VolumeSizeLimits struct {
	// workspace bounds the workspace volume (workspaceDir). Default 10Gi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="must be greater than zero"
	Workspace *resource.Quantity `json:"workspace,omitempty"`
	// home bounds HOME (/home/agent). Default 2Gi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="must be greater than zero"
	Home *resource.Quantity `json:"home,omitempty"`
	// tmp bounds /tmp. Default 2Gi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="must be greater than zero"
	Tmp *resource.Quantity `json:"tmp,omitempty"`
	// git bounds each Git context's checkout volume. Default 10Gi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="must be greater than zero"
	Git *resource.Quantity `json:"git,omitempty"`
}

// LabelValue is a label value: empty, or 1–63 characters from [A-Za-z0-9-_.] starting and ending
// with a letter or digit.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`
type LabelValue string

// PodScheduling constrains the nodes agent Pods run on.
type PodScheduling struct {
	// nodeSelector must match a node's labels for the Pod to be scheduled there. At most 32.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations let agent Pods run on tainted nodes. At most 32.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity holds node and Pod (anti-)affinity rules.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
}

// QuotaConfig limits the rate of Task starts: at most maxTaskStarts within any windowSeconds.
type QuotaConfig struct {
	// maxTaskStarts is how many Tasks may start within the window. 1–100000.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxTaskStarts int32 `json:"maxTaskStarts"`

	// windowSeconds is the length of the sliding window. 1–604800 (one week).
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=604800
	WindowSeconds int32 `json:"windowSeconds"`
}

// AgentNetworkPolicy asks for a default-deny egress NetworkPolicy on agent Pods. The generated
// policy allows DNS to the cluster DNS Pods and the destinations in egress, and always excepts
// the link-local ranges 169.254.0.0/16 and fe80::/10 (cloud metadata endpoints, node-local
// services) and the metadata addresses 100.100.100.200/32 and fd00:ec2::254/128, even from a
// listed CIDR that contains them. DNS stays a channel out: names the agent resolves reach the
// cluster's DNS server and whatever it forwards to. Enforcement needs a CNI that enforces
// NetworkPolicy.
type AgentNetworkPolicy struct {
	// egress lists the allowed destinations. Empty: no egress at all. At most 32 rules.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Egress []EgressRule `json:"egress,omitempty"`
}

// EgressRule allows traffic to some CIDRs, on some ports.
type EgressRule struct {
	// cidrs are the destination networks, e.g. 10.0.0.0/8 or 2001:db8::/32. Each is a valid
	// CIDR in canonical form (no host bits set), not inside 169.254.0.0/16, fe80::/10,
	// 100.100.100.200/32 or fd00:ec2::254/128, which a wider CIDR gets as exceptions. 1–16 entries.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="must be a valid CIDR, e.g. 10.0.0.0/8"
	// +kubebuilder:validation:items:XValidation:rule="!isCIDR(self) || string(cidr(self).masked()) == self",message="must be in canonical form: the address must have no bits set beyond the prefix length"
	// +kubebuilder:validation:items:XValidation:rule="!isCIDR(self) || !['169.254.0.0/16', 'fe80::/10', '100.100.100.200/32', 'fd00:ec2::254/128'].exists(x, cidr(x).containsCIDR(self))",message="must not lie inside a range that is never allowed: 169.254.0.0/16, fe80::/10, 100.100.100.200/32, fd00:ec2::254/128 (link-local and cloud metadata)"
	CIDRs []string `json:"cidrs"`

	// ports are the allowed destination ports. Empty: every port. At most 16.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Ports []EgressPort `json:"ports,omitempty"`
}

// Protocol is a network protocol of a NetworkPolicy port.
// +kubebuilder:validation:Enum=TCP;UDP;SCTP
type Protocol string

// The protocols a NetworkPolicy port may name.
const (
	ProtocolTCP  Protocol = "TCP"
	ProtocolUDP  Protocol = "UDP"
	ProtocolSCTP Protocol = "SCTP"
)

// EgressPort is one destination port.
type EgressPort struct {
	// port number, 1–65535.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// protocol is TCP (default), UDP or SCTP.
	// +optional
	// +kubebuilder:default=TCP
	Protocol Protocol `json:"protocol,omitempty"`
}

// AgentStatus is the state of an Agent as observed by the operator.
type AgentStatus struct {
	// observedGeneration is the metadata.generation the status describes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the Agent; Ready is False with reason InvalidConfiguration and a
	// message when the operator cannot use the Agent as written.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// AgentList is a list of Agents.
type AgentList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the Agents.
	Items []Agent `json:"items"`
}
