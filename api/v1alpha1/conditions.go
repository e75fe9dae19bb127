package v1alpha1

// Condition types. Every condition's reason is one of the Reason constants below, so clients can
// switch on it; the message is for people.
const (
	// ConditionReady on an Agent (or KubeOpenCodeConfig) is True when the operator can use it as
	// written, and False with reason InvalidConfiguration and an explanation otherwise.
	ConditionReady = "Ready"
	// ConditionQueued on a Task is True while it waits for its Agent's capacity.
	ConditionQueued = "Queued"
	// ConditionSucceeded on a Task is True once it Completed, False once it Failed; the reason
	// says why.
	ConditionSucceeded = "Succeeded"
	// ConditionStopped on a Task is True once the stop annotation has been acted on.
	ConditionStopped = "Stopped"
	// ConditionTerminating on a Task is True while its agent Pod is being terminated after a stop
	// or a timeout: the operator lowered the Pod's activeDeadlineSeconds, so the kubelet ends it
	// and its logs stay readable. The reason is Stopped or TimedOut.
	ConditionTerminating = "Terminating"
)

// Condition reasons.
const (
	// ReasonValid: the object passed the operator's checks.
	ReasonValid = "Valid"
	// ReasonInvalidConfiguration: the object cannot be used as written; the message says why.
	ReasonInvalidConfiguration = "InvalidConfiguration"
	// ReasonAgentNotFound: the referenced Agent does not exist.
	ReasonAgentNotFound = "AgentNotFound"
	// ReasonNamespaceNotAllowed: the Agent's allowedNamespaces does not match the Task's
	// namespace. The message does not disclose the Agent's patterns.
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	// ReasonMaxConcurrentTasks: the Task waits because the Agent runs maxConcurrentTasks Tasks.
	ReasonMaxConcurrentTasks = "MaxConcurrentTasks"
	// ReasonQuotaExceeded: the Task waits because the Agent's quota window is full.
	ReasonQuotaExceeded = "QuotaExceeded"
	// ReasonPathConflict: a Task mountPath collides with one of the Agent's; the message names
	// both paths.
	ReasonPathConflict = "PathConflict"
	// ReasonPodStartFailed: the agent Pod could not start (e.g. CreateContainerConfigError for a
	// missing Secret, or it stayed unschedulable); the message carries the kubelet's reason.
	ReasonPodStartFailed = "PodStartFailed"
	// ReasonPodMissing: the agent Pod disappeared before the Task finished.
	ReasonPodMissing = "PodMissing"
	// ReasonAgentFailed: the agent exited with a non-zero status.
	ReasonAgentFailed = "AgentFailed"
	// ReasonAgentSucceeded: the agent exited with status zero.
	ReasonAgentSucceeded = "AgentSucceeded"
	// ReasonTimedOut: spec.timeout elapsed; the Pod was deleted.
	ReasonTimedOut = "TimedOut"
	// ReasonStopped: the stop annotation was set; the Pod was deleted.
	ReasonStopped = "Stopped"
	// ReasonPodCreated: the agent Pod was created; the Task runs (Succeeded is Unknown).
	ReasonPodCreated = "PodCreated"
	// ReasonAdmissionPoliciesMissing: the ValidatingAdmissionPolicies that check Task and Agent
	// authors (operator/config/policy) are missing, differ from the generated ones, or were
	// installed after the Task was created; the Task does not start (on an Agent: Ready is
	// False) and the message names each object.
	ReasonAdmissionPoliciesMissing = "AdmissionPoliciesMissing"
	// ReasonPodSecurityViolation: the agent Pod would fail Pod Security "restricted"; it was not
	// created, and the message carries the verdict.
	ReasonPodSecurityViolation = "PodSecurityViolation"
	// ReasonInconsistentStatus: status.phase claimed the Task was final while its agent Pod was
	// still running (the status was written by someone other than the operator); the Pod was
	// deleted and the phase set to Failed.
	ReasonInconsistentStatus = "InconsistentStatus"
	// ReasonEgressPolicyNotInForce: the Agent has spec.networkPolicy, but its egress
	// NetworkPolicy (<agent>-egress, owned by the Agent, as the operator builds it) was not in
	// force within the operator's grace; the Task does not start, so no agent Pod runs without the
	// egress restriction its Agent declares (T17).
	ReasonEgressPolicyNotInForce = "EgressPolicyNotInForce"
	// ReasonOrphanDeleted: an Event reason: the operator deleted a Pod or context ConfigMap of a
	// Task that is being deleted without the operator's finalizer.
	ReasonOrphanDeleted = "OrphanDeleted"
)
