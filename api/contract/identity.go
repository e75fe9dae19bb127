package contract

// Who the agent runs as.
const (
	// DefaultUID is the user agent containers run as unless configured otherwise. Never root.
	DefaultUID int64 = 65532
	// DefaultGID is the group agent containers run as unless configured otherwise. Never root.
	DefaultGID int64 = 65532
	// MaxID is the largest UID or GID the libraries accept (the kernel's 31-bit limit).
	MaxID int64 = 1<<31 - 1
	// DefaultCredentialFileMode is the mode of a credential file when none is given (0600).
	DefaultCredentialFileMode int32 = 0o600
)
