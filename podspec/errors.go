package podspec

import (
	"errors"
	"fmt"
)

// Error categories. Every error returned by [Build] wraps exactly one of them, so callers can
// branch with errors.Is while errors.As gives the details ([*FieldError] or [*PathConflictError]).
var (
	// ErrInvalid: a value is malformed (not a DNS label, not a clean absolute path, ...).
	ErrInvalid = errors.New("invalid")
	// ErrReserved: a value uses something the library reserves for itself or for the platform
	// (a reserved label key, environment variable, container name, volume name or path).
	ErrReserved = errors.New("reserved")
	// ErrConflict: two values collide (same name, same mount path, a mount that shadows another).
	ErrConflict = errors.New("conflict")
)

// FieldError reports a problem with one field of the [Spec].
//
// Field is a path into the Spec, e.g. `Files[2].Path` or `Labels["kubeopencode.io/agent"]`.
// Reason says what is wrong; it quotes names, keys and paths but never environment variable values
// or any other content.
type FieldError struct {
	Field  string
	Reason string
	Err    error // one of ErrInvalid, ErrReserved, ErrConflict
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("podspec: %s: %s", e.Field, e.Reason)
}

// Unwrap returns the error category.
func (e *FieldError) Unwrap() error { return e.Err }

// PathConflictError reports a mount path that collides with, shadows or is shadowed by another
// path in the same container. It always names both paths.
type PathConflictError struct {
	Container string // container name
	Path      string // the offending mount path
	Other     string // the path it conflicts with (another mount or a reserved path)
	Reason    string // e.g. "is the same path as", "would shadow"
	Err       error  // ErrConflict or ErrReserved
}

func (e *PathConflictError) Error() string {
	return fmt.Sprintf("podspec: container %q: mount path %q %s %q", e.Container, e.Path, e.Reason, e.Other)
}

// Unwrap returns the error category.
func (e *PathConflictError) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

func reserved(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrReserved}
}

func conflict(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrConflict}
}
