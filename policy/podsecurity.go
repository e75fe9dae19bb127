package policy

import (
	"errors"
	"fmt"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"strings"

	corev1 "k8s.io/api/core/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// PodSecurityJudge evaluates Pods against one Pod Security Standards level and version with the
// checks of k8s.io/pod-security-admission, the code the PodSecurity admission plugin runs, so the
// verdict is the one the API server would give (threat T8). Build it once; it is safe for
// concurrent use.
type PodSecurityJudge struct {
	evaluator psapolicy.Evaluator
	standard  psaapi.LevelVersion
}

// NewPodSecurityJudge builds the evaluator for level ("privileged", "baseline" or "restricted")
// and version ("latest" or "v1.N", as in the pod-security.kubernetes.io/enforce-version label).
// A version newer than the library knows is judged by the newest checks it has, exactly as the
// admission plugin does. Invalid input gives an [*Errors] naming level, version or both.
func NewPodSecurityJudge(level, version string) (*PodSecurityJudge, error) {
	var errs field.ErrorList
	lvl, err := psaapi.ParseLevel(level)
	if err != nil {
		errs = append(errs, field.Invalid(field.NewPath("level"), omit, fmt.Sprintf("%q: %v", level, err)))
	}
	ver, err := psaapi.ParseVersion(version)
	if err != nil {
		errs = append(errs, field.Invalid(field.NewPath("version"), omit, fmt.Sprintf("%q: %v", version, err)))
	}
	if len(errs) > 0 {
		return nil, toError(errs)
	}
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("building the pod security evaluator: %w", err)
	}
	return &PodSecurityJudge{evaluator: evaluator, standard: psaapi.LevelVersion{Level: lvl, Version: ver}}, nil
}

// Standard is the judged "level:version", e.g. "restricted:latest".
func (j *PodSecurityJudge) Standard() string { return j.standard.String() }

// PodVerdict is the outcome of judging one Pod.
type PodVerdict struct {
	// Allowed is true when the Pod passes every check of the standard.
	Allowed bool
	// Standard is the judged "level:version", e.g. "restricted:latest".
	Standard string
	// Reasons are the failed checks in the admission plugin's order and wording, each
	// "reason (detail)" or just "reason", e.g.
	// `allowPrivilegeEscalation != false (container "agent" must set securityContext.allowPrivilegeEscalation=false)`.
	Reasons []string
}

// Message is what the PodSecurity admission plugin puts after `pods "<name>" is forbidden: `, e.g.
// `violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "agent" must set securityContext.runAsNonRoot=true)`.
// It is empty when the Pod is allowed.
func (v PodVerdict) Message() string {
	if v.Allowed {
		return ""
	}
	return fmt.Sprintf("violates PodSecurity %q: %s", v.Standard, strings.Join(v.Reasons, ", "))
}

// Err is nil when the Pod is allowed and an error carrying Message otherwise.
func (v PodVerdict) Err() error {
	if v.Allowed {
		return nil
	}
	return errors.New(v.Message())
}

// Judge evaluates the Pod's metadata and spec; init and ephemeral containers are judged too. A nil
// Pod is refused (fail closed).
func (j *PodSecurityJudge) Judge(pod *corev1.Pod) PodVerdict {
	v := PodVerdict{Standard: j.standard.String()}
	if pod == nil {
		v.Reasons = []string{"no pod to judge"}
		return v
	}
	result := psapolicy.AggregateCheckResults(j.evaluator.EvaluatePod(j.standard, &pod.ObjectMeta, &pod.Spec))
	if result.Allowed {
		v.Allowed = true
		return v
	}
	// Format each reason as AggregateCheckResult.ForbiddenDetail does for the whole list, so that
	// strings.Join(Reasons, ", ") is exactly the admission plugin's text.
	v.Reasons = make([]string, len(result.ForbiddenReasons))
	for i, reason := range result.ForbiddenReasons {
		if detail := result.ForbiddenDetails[i]; detail != "" {
			reason += " (" + detail + ")"
		}
		v.Reasons[i] = reason
	}
	return v
}
