package intel

import (
	"context"
	"net/netip"
)

// Reputation is what the offline intel says of an address, for the
// suspects' triage priority (issue 19): the blocklists that list it, the
// OTX import's pulses that name it, and the GreyNoise import's
// classification and actor. It never asks an online provider: a listing
// of suspects may hold thousands of addresses.
type Reputation struct {
	Lists          []string // blocklists listing it, in the order of the offline groups
	Pulses         int      // OTX import pulses naming it
	Classification string   // GreyNoise import: "benign", "malicious", "unknown"; "" when absent
	Actor          string   // GreyNoise import's name for it ("Censys"); "" when absent
}

// OfflineReputation looks a up in the offline intel only. An address that
// is not globally reachable has no reputation unless AllowPrivate, as in
// Enrich. The error is ctx's.
func (db *DB) OfflineReputation(ctx context.Context, a netip.Addr) (Reputation, error) {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || (!Describe(a).GloballyReachable && !db.opts.AllowPrivate) {
		return Reputation{}, nil
	}
	off := db.off.Load()
	if off == nil {
		return Reputation{}, nil
	}
	m := merger{e: &Enrichment{}, fields: map[string][]string{}}
	if err := m.offline(ctx, off, a); err != nil {
		return Reputation{}, err
	}
	r := Reputation{Pulses: len(m.pulses)}
	for _, l := range m.listings {
		r.Lists = append(r.Lists, l.List)
	}
	if m.gn != nil {
		r.Classification, r.Actor = m.gn.classification, m.gn.name
	}
	return r, nil
}
