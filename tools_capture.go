package main

import (
	"context"
	"net/netip"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/scan"
)

// overviewView is scan_overview's answer: the scan engine's overview with
// the file as the caller named it and the capture report.
func overviewView(res *capture.Result, file string, windowS float64, topK int) scan.Overview {
	ov := res.Analysis.Overview(scan.DefaultThresholds(), windowS, topK)
	ov.File = file
	ov.Capture = res.Report
	return ov
}

// suspectsView is list_suspects' list; never null, so an empty answer is
// an empty array.
func suspectsView(res *capture.Result, th scan.Thresholds) []scan.Suspect {
	s := res.Analysis.Suspects(th)
	if s == nil {
		s = []scan.Suspect{}
	}
	return s
}

// analyzePath reads (or finds cached) the capture a call names.
func (s *server) analyzePath(ctx context.Context, c *call, a toolArgs) (string, *capture.Result, error) {
	path, err := a.str("path", true)
	if err != nil {
		return "", nil, err
	}
	if path == "" || len(path) > maxPathBytes {
		return "", nil, invalidArg("path must be 1 to %d bytes", maxPathBytes)
	}
	res, err := s.z.Analyze(ctx, path, s.progressFunc(c))
	return path, res, err
}

func handleOverview(ctx context.Context, s *server, c *call, a toolArgs) (map[string]any, error) {
	window, err := a.number("time_window_s", 60, minWindowS, maxWindowS, false)
	if err != nil {
		return nil, err
	}
	topK, err := a.integer("top_k", 20, 1, maxTopK)
	if err != nil {
		return nil, err
	}
	path, res, err := s.analyzePath(ctx, c, a)
	if err != nil {
		return nil, err
	}
	return map[string]any{"overview": overviewView(res, path, window, topK)}, nil
}

func handleSuspects(ctx context.Context, s *server, c *call, a toolArgs) (map[string]any, error) {
	th := scan.DefaultThresholds()
	var err error
	if th.MinPorts, err = a.integer("min_ports", th.MinPorts, 1, maxThreshold); err != nil {
		return nil, err
	}
	if th.MinHosts, err = a.integer("min_hosts", th.MinHosts, 1, maxThreshold); err != nil {
		return nil, err
	}
	if th.MinRatePPS, err = a.number("min_rate_pps", th.MinRatePPS, 0, maxRatePPS, false); err != nil {
		return nil, err
	}
	limit, err := a.integer("limit", defSuspectLimit, 1, maxSuspectLimit)
	if err != nil {
		return nil, err
	}
	_, res, err := s.analyzePath(ctx, c, a)
	if err != nil {
		return nil, err
	}
	list, total, err := res.Analysis.SuspectsTop(ctx, th, limit)
	if err != nil {
		return nil, err
	}
	if total <= limit {
		return map[string]any{"suspects": list}, nil
	}
	// Past limit the sources with the most probes are kept (ties: the
	// lower address), still in address order.
	return map[string]any{"suspects": list, "total": total, "truncated": true}, nil
}

func handleFirstEvent(ctx context.Context, s *server, c *call, a toolArgs) (map[string]any, error) {
	_, res, err := s.analyzePath(ctx, c, a)
	if err != nil {
		return nil, err
	}
	return map[string]any{"first_event": res.Analysis.FirstEvent(scan.DefaultThresholds())}, nil
}

func handleDetail(ctx context.Context, s *server, c *call, a toolArgs) (map[string]any, error) {
	ipArg, err := a.str("ip", true)
	if err != nil {
		return nil, err
	}
	ip, err := intel.ParseIP(ipArg)
	if err != nil {
		return nil, err
	}
	_, res, err := s.analyzePath(ctx, c, a)
	if err != nil {
		return nil, err
	}
	d, found := res.Analysis.Detail(normalizeAddr(ip))
	out := map[string]any{"ip": normalizeAddr(ip).String(), "found": found, "detail": nil}
	if found {
		out["detail"] = d
	}
	return out, nil
}

// normalizeAddr is how addresses appear in captures: no zone, IPv4-mapped
// IPv6 unmapped.
func normalizeAddr(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}
