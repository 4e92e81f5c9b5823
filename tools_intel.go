package main

import (
	"context"
	"fmt"
	"net/netip"

	"porthunter/intel"
)

func handleEnrich(ctx context.Context, s *server, _ *call, a toolArgs) (map[string]any, error) {
	ip, err := a.str("ip", true)
	if err != nil {
		return nil, err
	}
	if len(ip) > maxIPArgBytes {
		return nil, invalidArg("ip is longer than %d bytes", maxIPArgBytes)
	}
	e, err := s.intelDB.EnrichInput(ctx, ip)
	if err != nil {
		return nil, err
	}
	if e.Skip != nil {
		// CONTRACT §3.4: a skipped address is answered at the top level.
		return map[string]any{"ip": e.Skip.IP, "input": e.Skip.Input, "skipped": true, "reason": e.Skip.Reason,
			"category": e.Skip.Category, "block": e.Skip.Block, "name": e.Skip.Name, "rfc": e.Skip.RFC}, nil
	}
	return map[string]any{"enrichment": e}, nil
}

func handleCorrelate(ctx context.Context, s *server, c *call, a toolArgs) (map[string]any, error) {
	ips, err := a.strs("ips")
	if err != nil {
		return nil, err
	}
	if len(ips) > intel.MaxCorrelateIPs { // before reading any capture
		return nil, fmt.Errorf("%w: %d addresses, at most %d per call", intel.ErrTooManyIPs, len(ips), intel.MaxCorrelateIPs)
	}
	var activity func(netip.Addr) any
	if _, ok := a["path"]; ok {
		_, res, err := s.analyzePath(ctx, c, a)
		if err != nil {
			return nil, err
		}
		activity = func(ip netip.Addr) any {
			if act := res.Analysis.Activity(normalizeAddr(ip)); act != nil {
				return act
			}
			return map[string]any{"seen": false, "suspect": false}
		}
	}
	corr, err := s.intelDB.Correlate(ctx, ips, activity)
	if err != nil {
		return nil, err
	}
	return map[string]any{"results": corr.Results, "groups": corr.Groups, "summary": corr.Summary, "partial": corr.Partial}, nil
}
