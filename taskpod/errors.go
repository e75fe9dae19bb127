package taskpod

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubeopencode/kubeopencode/api/contract"
	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// Error is why an Agent cannot run a Task as written: every problem found, not only the first.
// Field paths are relative to the object whose spec holds the problem: Agent lists the Agent's
// (spec.credentials[0].env, spec.contexts[1].mountPath, ...), Task the Task's own. A path that
// collides with another is a PathConflict; everything else is InvalidConfiguration.
//
// Error() is the message for the Task's author. A Task from another namespace learns only that
// the Agent is misconfigured: the Agent's details (Secret names, paths) belong to the platform
// team, who read them with [Error.AgentMessage] (the Agent's Ready condition).
type Error struct {
	// Reason is the Task condition reason: v1alpha1.ReasonPathConflict when any problem is a
	// path conflict, else v1alpha1.ReasonInvalidConfiguration.
	Reason string
	// Agent are the problems of the Agent's spec, Task those of the Task's spec.
	Agent, Task field.ErrorList

	taskNS, agentNS, agentName string
}

// problems collects an Error while Build runs.
type problems struct {
	agent, task field.ErrorList
	conflict    bool
}

func (p *problems) addAgent(conflict bool, errs ...*field.Error) {
	p.agent = append(p.agent, errs...)
	p.conflict = p.conflict || (conflict && len(errs) > 0)
}

func (p *problems) addTask(conflict bool, errs ...*field.Error) {
	p.task = append(p.task, errs...)
	p.conflict = p.conflict || (conflict && len(errs) > 0)
}

func (p *problems) empty() bool { return len(p.agent) == 0 && len(p.task) == 0 }

// err returns the collected problems as an *Error, or nil.
func (p *problems) err(task *v1alpha1.Task, agent *v1alpha1.Agent) error {
	if p.empty() {
		return nil
	}
	reason := v1alpha1.ReasonInvalidConfiguration
	if p.conflict {
		reason = v1alpha1.ReasonPathConflict
	}
	return &Error{Reason: reason, Agent: p.agent, Task: p.task, taskNS: task.Namespace, agentNS: agent.Namespace, agentName: agent.Name}
}

// Error is the message for the Task's author: the Task's problems, and the Agent's only when the
// Task is in the Agent's namespace.
func (e *Error) Error() string {
	var parts []string
	if len(e.Agent) > 0 {
		if e.taskNS != e.agentNS {
			parts = append(parts, fmt.Sprintf("Agent %s/%s cannot run Tasks as configured; its Ready condition says why (ask the platform team that owns namespace %q)",
				e.agentNS, e.agentName, e.agentNS))
		} else {
			parts = append(parts, e.AgentMessage())
		}
	}
	if len(e.Task) > 0 {
		parts = append(parts, "Task "+join(e.Task))
	}
	return strings.Join(parts, "; ")
}

// AgentMessage is the Agent's problems with their details, for the platform team; "" when the
// Agent has none.
func (e *Error) AgentMessage() string {
	if len(e.Agent) == 0 {
		return ""
	}
	return fmt.Sprintf("Agent %s/%s cannot run this Task: %s", e.agentNS, e.agentName, join(e.Agent))
}

func join(errs field.ErrorList) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// invalid is a field.Invalid that shows no value: the detail names what matters, and a value
// (an Agent's config, a Secret's keys) may be more than the Task's author should read.
func invalid(path *field.Path, detail string) *field.Error {
	return field.Invalid(path, field.OmitValueType{}, detail)
}

// libraryProblems lists the field errors a library (podspec, credentials) reported, each under
// path (their paths are into the library's input: credentials[name].env, Files[2].Path), or err
// as one problem at path when it carries none.
func libraryProblems(path *field.Path, err error) field.ErrorList {
	var es *contract.Errors
	if errors.As(err, &es) {
		var out field.ErrorList
		for _, p := range es.Problems {
			if fe, ok := p.(*field.Error); ok {
				lifted := *fe
				lifted.Field = path.String() + "." + fe.Field
				out = append(out, &lifted)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return field.ErrorList{invalid(path, err.Error())}
}
