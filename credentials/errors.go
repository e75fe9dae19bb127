package credentials

import (
	"errors"
	"fmt"
)

// Error categories; every *Error wraps one of them.
var (
	// ErrInvalid: a value is malformed or a combination of fields is not supported.
	ErrInvalid = errors.New("invalid")
	// ErrReserved: an environment variable name or a path belongs to the platform.
	ErrReserved = errors.New("reserved")
	// ErrConflict: two credentials, or a credential and the PodSpec, want the same name or path.
	ErrConflict = errors.New("conflict")
)

// Error reports a problem with one field of one credential (or of the Options, or of the PodSpec
// given to Apply). It names the credential and the field. The library never sees Secret data, so
// no error can contain any.
type Error struct {
	Credential string // Credential.Name; empty for Options and PodSpec errors
	Field      string // e.g. "env", "mountPath", "Options.StagingImage", "PodSpec"
	Reason     string
	Err        error // ErrInvalid, ErrReserved or ErrConflict
}

func (e *Error) Error() string {
	if e.Credential == "" {
		return fmt.Sprintf("credentials: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("credentials: credential %q: %s: %s", e.Credential, e.Field, e.Reason)
}

// Unwrap returns the error category.
func (e *Error) Unwrap() error { return e.Err }

func newErr(cat error, cred, field, format string, args ...any) *Error {
	return &Error{Credential: cred, Field: field, Reason: fmt.Sprintf(format, args...), Err: cat}
}
