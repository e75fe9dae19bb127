package policy

import (
	"github.com/kubeopencode/kubeopencode/api/contract"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error categories, shared with every library through api/contract. Every input the policy
// constructors refuse is ErrInvalid.
var (
	ErrInvalid  = contract.ErrInvalid
	ErrReserved = contract.ErrReserved
	ErrConflict = contract.ErrConflict
)

// Errors is what the constructors return for invalid input: every problem at once, each a
// *field.Error (k8s.io/apimachinery/pkg/util/validation/field) with its field path.
type Errors = contract.Errors

// toError turns the problems found into the error a constructor returns, or nil.
func toError(list field.ErrorList) error {
	if len(list) == 0 {
		return nil
	}
	e := &Errors{Summary: list.ToAggregate(),
		Problems: make([]error, len(list)), Categories: make([]contract.Category, len(list))}
	for i, fe := range list {
		e.Problems[i], e.Categories[i] = fe, contract.CategoryOfFieldType(string(fe.Type))
	}
	return e
}

// omit keeps values out of messages: details quote what is safe to show themselves.
var omit = field.OmitValueType{}
