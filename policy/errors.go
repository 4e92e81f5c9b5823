package policy

import (
	"errors"
	"fmt"
)

// Sentinel errors. Package main maps each one to a contract error code in
// one table; nothing else assigns codes.
var (
	ErrUnauthorized          = errors.New("policy: auth_token missing or wrong")
	ErrPathOutsideAllowedDir = errors.New("policy: path resolves outside the allowed directory")
	ErrPathNotFound          = errors.New("policy: no such file in the allowed directory")
	ErrNotRegularFile        = errors.New("policy: not a regular file")
	ErrUnsupportedFileType   = errors.New("policy: not a pcap or pcapng capture by its first bytes")
	ErrFileTooLarge          = errors.New("policy: file larger than the configured limit")
)

// ErrConfig is wrapped by every LoadConfig error; the message names the
// offending environment variable so the operator can fix it from one line.
var ErrConfig = errors.New("policy: invalid configuration")

// TooLargeError is ReadAllMax's refusal of input over Max bytes. It
// matches ErrFileTooLarge; its text ("larger than 262144 bytes") is meant
// to follow the name of what was read.
type TooLargeError struct {
	Max int64
}

func (e *TooLargeError) Error() string { return fmt.Sprintf("larger than %d bytes", e.Max) }

func (e *TooLargeError) Unwrap() error { return ErrFileTooLarge }
