package podspec

import (
	"errors"
	"fmt"

	"github.com/kubeopencode/kubeopencode/api/contract"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error categories, shared with every library through api/contract: errors.Is(err, ErrConflict)
// is true for a conflict whichever library (podspec, credentials, policy) reported it.
var (
	// ErrInvalid: a value is malformed (not a DNS label, not a clean absolute path, ...).
	ErrInvalid = contract.ErrInvalid
	// ErrReserved: a value uses something the library reserves for itself or for the platform
	// (a reserved label key, environment variable, container name, volume name or path).
	ErrReserved = contract.ErrReserved
	// ErrConflict: two values collide (same name, same mount path, a mount that shadows another).
	ErrConflict = contract.ErrConflict
)

// Errors is what [Build] returns for a Spec it refuses: every problem it found, each a
// [*FieldError] whose Type carries the category (see [contract.CategoryOfFieldType]).
type Errors = contract.Errors

// FieldError reports a problem with one field: Field is a path into the Spec or the Pod (e.g.
// `Files[2].Path`, `Labels[kubeopencode.io/agent]`, `containers[agent].volumeMounts[extra].mountPath`)
// and Detail says what is wrong. Details quote names, keys and paths but never environment
// variable values or any other content. Type is Invalid or Required (ErrInvalid), Forbidden
// (ErrReserved) or Duplicate (ErrConflict).
type FieldError = field.Error

// OriginPathConflict is the Origin of the field errors that report a path colliding with, shadowing
// or being shadowed by another mount or a reserved path (see [IsPathConflict]).
const OriginPathConflict = "podspec/path-conflict"

// IsPathConflict reports whether err reports a path conflict: a mount (or the workspace, or a
// file) at a path another mount or a reserved path already uses, shadows or would contain. Such
// errors name both paths.
func IsPathConflict(err error) bool {
	for _, fe := range problems(err) {
		if fe.Origin == OriginPathConflict {
			return true
		}
	}
	return false
}

// problems returns the field errors err reports, if it is (or wraps) an [*Errors].
func problems(err error) []*field.Error {
	var es *Errors
	if !errors.As(err, &es) {
		return nil
	}
	var out []*field.Error
	for _, p := range es.Problems {
		if fe, ok := p.(*field.Error); ok {
			out = append(out, fe)
		}
	}
	return out
}

// toError turns the problems found into the error Build returns, or nil when there are none.
func toError(list field.ErrorList) error {
	if len(list) == 0 {
		return nil
	}
	e := &Errors{Prefix: "podspec: ", Summary: list.ToAggregate(),
		Problems: make([]error, len(list)), Categories: make([]contract.Category, len(list))}
	for i, fe := range list {
		e.Problems[i], e.Categories[i] = fe, contract.CategoryOfFieldType(string(fe.Type))
	}
	return e
}

// omit keeps values out of messages: details quote what is safe to show themselves.
var omit = field.OmitValueType{}

func invalid(p *field.Path, format string, args ...any) *field.Error {
	return field.Invalid(p, omit, fmt.Sprintf(format, args...))
}

func required(p *field.Path, detail string) *field.Error { return field.Required(p, detail) }

func reserved(p *field.Path, format string, args ...any) *field.Error {
	return field.Forbidden(p, fmt.Sprintf(format, args...))
}

func conflict(p *field.Path, format string, args ...any) *field.Error {
	return &field.Error{Type: field.ErrorTypeDuplicate, Field: p.String(), BadValue: omit, Detail: fmt.Sprintf(format, args...)}
}

// pathConflict reports a path that collides with another; cat is ErrReserved or ErrConflict.
func pathConflict(p *field.Path, reserve bool, format string, args ...any) *field.Error {
	fe := conflict(p, format, args...)
	if reserve {
		fe = reserved(p, format, args...)
	}
	fe.Origin = OriginPathConflict
	return fe
}
