// Package policy holds the server's security decisions: configuration
// from the environment, the auth token check, and the sandbox through which
// every capture is opened.
//
// Trusted input: the environment (set by the operator). Untrusted input:
// tool-call tokens and paths, and the files themselves. A path is honoured
// only if it names a regular file beneath the allowed directory, reached
// without ".." or symbolic links that leave it; the file must be no larger
// than the configured limit (checked on the open descriptor before any byte
// is parsed, and again while reading) and must start with a pcap, pcapng or
// gzip magic number. Tokens are compared in constant time over SHA-256
// digests.
//
// Limits: MaxPcapMBLimit bounds the size setting; the defaults for
// concurrency, call time and memory are the Default* constants.
package policy
