package credentials

import (
	"fmt"

	"github.com/kubeopencode/kubeopencode/api/contract"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error categories, shared with every library through api/contract: errors.Is(err, ErrConflict)
// is true for a conflict whichever library (credentials, podspec, policy) reported it.
var (
	// ErrInvalid: a value is malformed or a combination of fields is not supported.
	ErrInvalid = contract.ErrInvalid
	// ErrReserved: an environment variable name or a path belongs to the platform.
	ErrReserved = contract.ErrReserved
	// ErrConflict: two credentials, or a credential and the PodSpec, want the same name or path.
	ErrConflict = contract.ErrConflict
)

// Errors is what Project and Apply return: every problem found, each an [*Error].
type Errors = contract.Errors

// Error is one problem: a field error (k8s.io/apimachinery/pkg/util/validation/field) whose Field
// names the credential and its field (e.g. `credentials[github].env`), the Options
// (`Options.StagingImage`) or the PodSpec given to Apply (`PodSpec.securityContext.fsGroup`), and
// whose Type carries the category: Forbidden is ErrReserved, Duplicate is ErrConflict, the other
// types are ErrInvalid. The library never sees Secret data, so no error can contain any.
type Error = field.Error

// toError turns the problems found into the error Project or Apply returns, or nil.
func toError(list field.ErrorList) error {
	if len(list) == 0 {
		return nil
	}
	e := &Errors{Prefix: "credentials: ", Summary: list.ToAggregate(),
		Problems: make([]error, len(list)), Categories: make([]contract.Category, len(list))}
	for i, fe := range list {
		e.Problems[i], e.Categories[i] = fe, contract.CategoryOfFieldType(string(fe.Type))
	}
	return e
}

// omit keeps values out of messages: details quote what is safe to show themselves.
var omit = field.OmitValueType{}

// newErr returns a field error of category cat at p.
func newErr(cat contract.Category, p *field.Path, format string, args ...any) *field.Error {
	detail := fmt.Sprintf(format, args...)
	switch cat {
	case contract.Reserved:
		return field.Forbidden(p, detail)
	case contract.Conflict:
		return &field.Error{Type: field.ErrorTypeDuplicate, Field: p.String(), BadValue: omit, Detail: detail}
	}
	return field.Invalid(p, omit, detail)
}
