package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// Defaults of Options.
const (
	// DefaultAgentImage copies the OpenCode binary into /tools when an Agent sets no agentImage.
	DefaultAgentImage = "kubeopencode.local/agent-opencode:v0.1.0"
	// DefaultExecutorImage runs the agent when an Agent sets no executorImage.
	DefaultExecutorImage = "kubeopencode.local/executor:v0.1.0"
	// DefaultSystemImage is the operator's own image, used for its init steps (credential staging)
	// unless KubeOpenCodeConfig spec.systemImage.image says otherwise.
	DefaultSystemImage = "kubeopencode.local/operator:v0.1.0"
	// DefaultPodStartTimeout is how long a Pod may stay unschedulable before its Task fails.
	DefaultPodStartTimeout = 10 * time.Minute
	// DefaultQueuedRecheck is how often a queued Task re-checks capacity even if no slot frees
	// (a safety net; freed slots wake queued Tasks at once).
	DefaultQueuedRecheck = time.Minute
	// DefaultEgressPolicyGrace is how long a Task waits, from its creation, for its Agent's
	// egress NetworkPolicy to be in force before it fails (EgressPolicyNotInForce).
	DefaultEgressPolicyGrace = 30 * time.Second
	// DefaultStopGrace is how long a stopped or timed-out agent Pod may take to terminate (the
	// kubelet acting on its lowered activeDeadlineSeconds) before the operator deletes it.
	DefaultStopGrace = 30 * time.Second
)

// Options configure the reconcilers. The zero value of each field is its documented default,
// except Judge, which is required.
type Options struct {
	// DefaultAgentImage, DefaultExecutorImage and SystemImage; see the constants of the same names.
	DefaultAgentImage    string
	DefaultExecutorImage string
	SystemImage          string
	// SystemImagePullPolicy of the system image unless KubeOpenCodeConfig sets one.
	SystemImagePullPolicy corev1.PullPolicy
	// DefaultCommand replaces taskpod.DefaultCommand() when set.
	DefaultCommand []string
	// PodStartTimeout bounds how long a Pod may stay unschedulable. Default DefaultPodStartTimeout.
	PodStartTimeout time.Duration
	// QueuedRecheck; default DefaultQueuedRecheck.
	QueuedRecheck time.Duration
	// StopGrace bounds how long a stopped or timed-out Pod may take to terminate before it is
	// deleted (its logs then go with it). Default DefaultStopGrace.
	StopGrace time.Duration
	// EgressPolicyGrace bounds how long, from its creation, a Task of an Agent with
	// spec.networkPolicy waits for that Agent's egress NetworkPolicy to be in force (the Agent
	// reconciler creates it a moment after the Agent) before it fails; an Agent whose policy name
	// is taken by a NetworkPolicy it does not own is rechecked this often, so removing that
	// policy lets the operator's own in. Default DefaultEgressPolicyGrace.
	EgressPolicyGrace time.Duration
	// Judge is the Pod Security verdict every Pod must pass before it is created (restricted,
	// latest). Required.
	Judge *policy.PodSecurityJudge
	// AdmissionPolicies says which admission policies the operator requires before a Task
	// starts (T22): kocpolicy.Policies with these options. The zero value is the shipped
	// operator/config/policy (the operator running as kubeopencode-system/kubeopencode-operator).
	AdmissionPolicies kocpolicy.PoliciesOptions
	// MutatePod, when set, changes each built Pod before it is judged. It exists for tests that
	// prove an unsafe Pod is refused rather than created (T8); production leaves it nil.
	MutatePod func(*corev1.Pod)
	// Namespaces the operator watches; empty means every namespace. The start-up sweep of
	// orphaned context ConfigMaps lists only these.
	Namespaces []string
}

func (o Options) withDefaults() Options {
	if o.DefaultAgentImage == "" {
		o.DefaultAgentImage = DefaultAgentImage
	}
	if o.DefaultExecutorImage == "" {
		o.DefaultExecutorImage = DefaultExecutorImage
	}
	if o.SystemImage == "" {
		o.SystemImage = DefaultSystemImage
	}
	if len(o.DefaultCommand) == 0 {
		o.DefaultCommand = taskpod.DefaultCommand()
	}
	if o.PodStartTimeout <= 0 {
		o.PodStartTimeout = DefaultPodStartTimeout
	}
	if o.QueuedRecheck <= 0 {
		o.QueuedRecheck = DefaultQueuedRecheck
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.EgressPolicyGrace <= 0 {
		o.EgressPolicyGrace = DefaultEgressPolicyGrace
	}
	return o
}

// buildPod is taskpod.Build with these options' defaults, then MutatePod. cms nil means the
// contexts' ConfigMaps were not read (validating an Agent).
func (o Options) buildPod(task *v1alpha1.Task, agent *v1alpha1.Agent, cfg *v1alpha1.KubeOpenCodeConfig, cms *taskpod.ConfigMaps) (*taskpod.Result, error) {
	res, err := taskpod.Build(taskpod.Input{Task: task, Agent: agent, Config: cfg, ConfigMaps: cms, Defaults: taskpod.Defaults{
		AgentImage: o.DefaultAgentImage, ExecutorImage: o.DefaultExecutorImage, SystemImage: o.SystemImage,
		SystemImagePullPolicy: o.SystemImagePullPolicy, Command: o.DefaultCommand,
	}})
	if err != nil {
		return nil, err
	}
	if o.MutatePod != nil {
		o.MutatePod(res.Pod)
	}
	return res, nil
}
