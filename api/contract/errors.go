package contract

// Category is the kind of a problem a library reports. Every library uses the same three values,
// so a caller can branch with errors.Is(err, contract.ErrConflict) whichever library found it.
type Category string

// Error makes a Category usable as an errors.Is target.
func (c Category) Error() string { return string(c) }

// The categories.
const (
	// Invalid: a value is malformed (not a DNS label, not a clean absolute path, a missing field,
	// an unsupported combination).
	Invalid Category = "invalid"
	// Reserved: a value uses something the platform reserves for itself (a label key, an
	// environment variable, a container or volume name, a path).
	Reserved Category = "reserved"
	// Conflict: two values collide (same name, same path, a mount that shadows another).
	Conflict Category = "conflict"
)

// ErrInvalid, ErrReserved and ErrConflict are the categories as errors.Is targets.
var (
	ErrInvalid  error = Invalid
	ErrReserved error = Reserved
	ErrConflict error = Conflict
)

// The libraries report problems as apimachinery field errors (field.ErrorList). Their Type carries
// the category: "FieldValueForbidden" is Reserved, "FieldValueDuplicate" is Conflict, and every
// other type (FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueTooLong,
// ...) is Invalid. The strings are those of field.ErrorType, which the API server also puts on the
// wire; the contract names them as strings so as to import only the standard library.
const (
	FieldTypeForbidden = "FieldValueForbidden"
	FieldTypeDuplicate = "FieldValueDuplicate"
)

// CategoryOfFieldType returns the category of a field error type (string(fieldError.Type)).
func CategoryOfFieldType(t string) Category {
	switch t {
	case FieldTypeForbidden:
		return Reserved
	case FieldTypeDuplicate:
		return Conflict
	}
	return Invalid
}

// Errors is an error that reports several problems at once: what podspec, credentials and policy
// return. The libraries fill it from a field.ErrorList: Problems holds each *field.Error, Summary
// the list's ToAggregate(), and Categories[i] the category of Problems[i].
//
// errors.Is(err, ErrConflict) (or ErrInvalid, ErrReserved) reports whether any problem has that
// category; errors.As reaches each problem (errors.As(err, &fieldErr) gives the first *field.Error)
// and the aggregate (utilerrors.Aggregate).
type Errors struct {
	// Prefix starts the message, e.g. "podspec: ".
	Prefix     string
	Summary    error
	Problems   []error
	Categories []Category
}

func (e *Errors) Error() string { return e.Prefix + e.Summary.Error() }

// Unwrap returns the aggregate, then each problem.
func (e *Errors) Unwrap() []error {
	return append([]error{e.Summary}, e.Problems...)
}

// Is reports whether target is the category of one of the problems.
func (e *Errors) Is(target error) bool {
	for _, c := range e.Categories {
		if c == target {
			return true
		}
	}
	return false
}
