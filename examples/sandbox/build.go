package sandbox

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

// defaultStagingCommand runs the credentials module's stage-credentials program.
var defaultStagingCommand = []string{"/stage-credentials"}

// Options configure how sandbox Pods are built. The zero value works for templates without file
// credentials.
type Options struct {
	// StagingImage holds the stage-credentials program of the credentials module; it copies
	// file credentials with their exact mode before the sandbox starts. Required when a template
	// has a file credential.
	StagingImage string
	// StagingCommand runs it. Default ["/stage-credentials"].
	StagingCommand []string
	// Deadline bounds how long a sandbox Pod may run. Default podspec.DefaultDeadline (1h).
	Deadline time.Duration
}

// The sandbox controller's own labels: its Pods carry app.kubernetes.io/managed-by=ManagedBy and
// keys under LabelDomain (see Labels), never KubeOpenCode's kubeopencode.io keys nor
// managed-by=kubeopencode, so that a KubeOpenCode operator in the same cluster does not cache,
// count, select or clean up a sandbox's Pod (an Agent and a SandboxTemplate may share a name).
const (
	LabelDomain = "sandbox.example.com"
	ManagedBy   = "sandbox-controller"
)

// Labels is the podspec label scheme of sandbox Pods: <LabelDomain>/sandbox-uid, sandbox-name,
// sandbox-namespace and template.
func Labels() podspec.LabelScheme {
	return podspec.LabelScheme{Domain: LabelDomain, ManagedBy: ManagedBy, OwnerKind: "sandbox", GroupKind: "template"}
}

// PodNamespace is where a Sandbox's Pod runs: its template's namespace, which holds the Secrets.
// It is computed from the (immutable) spec, never read from status.
func PodNamespace(sb *v1alpha1.Sandbox) string {
	if sb.Spec.TemplateRef.Namespace != "" {
		return sb.Spec.TemplateRef.Namespace
	}
	return sb.Namespace
}

// Decide says whether the Sandbox's namespace may use the template (threat T1 of KubeOpenCode,
// for sandboxes): the template's own namespace always may; another one only when an
// allowedNamespaces pattern matches it. An invalid pattern list refuses everyone. The policy
// module's reasons are kept; refusal messages are reworded for Sandboxes and, like the policy's,
// never quote the template's patterns.
func Decide(sb *v1alpha1.Sandbox, tmpl *v1alpha1.SandboxTemplate) policy.Decision {
	d := policy.NewNamespacePolicy(tmpl.Namespace, tmpl.Name, tmpl.Spec.AllowedNamespaces).Decide(sb.Namespace)
	switch d.Reason {
	case policy.ReasonNamespaceNotAllowed:
		d.Message = fmt.Sprintf("namespace %q may not use SandboxTemplate %s/%s; ask the owners of namespace %q to add it to the template's allowedNamespaces",
			sb.Namespace, tmpl.Namespace, tmpl.Name, tmpl.Namespace)
	case policy.ReasonInvalidPolicy:
		d.Message = fmt.Sprintf("SandboxTemplate %s/%s has an invalid allowedNamespaces list and refuses every Sandbox until its owners fix it",
			tmpl.Namespace, tmpl.Name)
	}
	return d
}

// BuildPod builds the Sandbox's Pod on the template, in the template's namespace. It does no I/O
// and does not decide namespace access (see Decide). The Pod runs as UID/GID 65532, non-root,
// without capabilities or privilege escalation, with a read-only root filesystem, RuntimeDefault
// seccomp and no service-account token; its name and labels derive from the Sandbox UID, its
// labels follow Labels.
func BuildPod(sb *v1alpha1.Sandbox, tmpl *v1alpha1.SandboxTemplate, opts Options) (*corev1.Pod, error) {
	creds := make([]credentials.Credential, 0, len(tmpl.Spec.Credentials))
	for _, c := range tmpl.Spec.Credentials {
		creds = append(creds, credentials.Credential{Name: c.Name, SecretName: c.SecretName, Key: c.Key,
			Env: c.Env, MountPath: c.MountPath, FileMode: c.FileMode})
	}
	command := opts.StagingCommand
	if len(command) == 0 {
		command = defaultStagingCommand
	}
	proj, err := credentials.Project(creds, credentials.Options{StagingImage: opts.StagingImage, StagingCommand: slices.Clone(command)})
	if err != nil {
		return nil, fmt.Errorf("template %s/%s: %w", tmpl.Namespace, tmpl.Name, err)
	}
	pod, err := podspec.Build(podspec.Spec{
		Identity: podspec.Identity{OwnerUID: string(sb.UID), OwnerName: sb.Name, OwnerNamespace: sb.Namespace,
			GroupName: tmpl.Name},
		LabelScheme:        Labels(),
		Namespace:          tmpl.Namespace,
		AgentImage:         tmpl.Spec.ToolsImage,
		ExecutorImage:      tmpl.Spec.Image,
		Command:            slices.Clone(sb.Spec.Command),
		ServiceAccountName: tmpl.Spec.ServiceAccountName,
		RuntimeClassName:   tmpl.Spec.RuntimeClassName,
		Deadline:           opts.Deadline,
		Projections:        []podspec.Projection{proj},
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox %s/%s on template %s/%s: %w", sb.Namespace, sb.Name, tmpl.Namespace, tmpl.Name, err)
	}
	return pod, nil
}

// NewScheme knows the built-in kinds the controller touches (Pods) and sandbox.example.com.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(corev1.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}
