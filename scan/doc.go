// Package scan turns decoded packets into port-scan findings.
//
// An Aggregator receives every record of one capture, in file order, as a
// decoded pcapng.Packet, and keeps per-source state only: packet counters,
// the distinct targets (source, destination, protocol, destination port)
// each source contacted with the outcome the capture shows for each, and
// fingerprint counters. It keeps no packet bytes. Finish freezes that
// state into an Analysis, whose views (Overview, Suspects, FirstEvent,
// Detail, Activity, Capture) are cheap, deterministic and safe for
// concurrent use.
//
// Input is untrusted: every field of a Packet may be hostile. Nothing here
// indexes by a packet value without a bound, and the state grows with
// distinct sources and targets only, capped by Config.MemoryBudgetBytes;
// what a cap drops is counted in CaptureStats, never silently lost.
//
// The detection rules follow DETECTION.md §6: a probe is the first packet
// of a target with no earlier traffic back from it; outcomes come from the
// responses in the capture (ICMP errors attributed through the quoted
// header); successful connections (the target's SYN/ACK and the source's
// completion of the handshake, not aborted as a connect() scanner aborts
// it), midstream traffic, backscatter, answered UDP client traffic and
// services polled on a schedule (monitoring) are not scanning, while host
// discovery is whatever the replies; a source is listed when its distinct
// targets within one idle-gap episode reach a threshold at a minimum rate,
// or when the threshold is reached and a TRW sequential test calls it a
// scanner however slow it is. A source TRW found benign is listed by the
// count rules only when its failures dominate.
//
// Speed and memory: Add numbers addresses and counts sources itself;
// targets live in a fixed number of shards chosen by each packet's
// address pair, in open-addressing tables of pointer-free records (no Go
// maps on the packet path, nothing for the collector to scan). With
// Config.Workers > 1 the shards run on worker goroutines fed with
// batches; each shard sees its packets in file order, so the answers are
// byte-identical whatever the number of workers (TestParallelEqualsSequential).
// Finish sorts instead of hashing wherever it can and shares its work
// between the same number of goroutines.
//
// Where to read what: rules.go has the detection rules in DETECTION.md's
// order (what a probe is, outcomes, what counts, when a source is listed,
// shape and rate); verdict.go applies them to a whole capture. The
// evidence they read is gathered by aggregator.go (addresses, sources,
// routing), shard.go (targets and their answers, per packet), and, at
// Finish (analysis.go), group.go (targets grouped by source) and build.go
// (each source's probes, outcomes and episodes); the other detections
// have a file each (protoscan, sctp, idle, decoy, roles, nearmiss,
// fingerprint, darknet). views.go and detail.go answer the questions;
// triage.go weighs the listed sources with the site context. The generic
// storage machinery is under internal/: hashtab (the address tables and
// the hashing the target table of table.go shares), sketch (the
// Space-Saving summary, the HyperLogLog counter and the decoy search's
// sieve), batch (the worker goroutines Add feeds) and hugepage; heavy.go
// uses the sketches for the source budget.
package scan
