package mcp

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"

	"porthunter/intel"
	"porthunter/policy"
	"porthunter/scan"
)

// loadKnown reads the known-scanners file of PORT_HUNTER_KNOWN_SCANNERS
// through the sandbox, so it must lie inside the allowed directory, at
// most policy.MaxKnownFileBytes. Its errors name the variable: the server
// refuses to start on them, since a list that silently failed to load
// would turn every known scanner back into a suspect.
func loadKnown(cfg policy.Config, sb *policy.Sandbox) ([]scan.KnownScanner, error) {
	if cfg.KnownScanners == "" {
		return nil, nil
	}
	fail := func(err error) ([]scan.KnownScanner, error) {
		return nil, fmt.Errorf("%w: %s %q: %v", policy.ErrConfig, policy.EnvKnownScanners, cfg.KnownScanners, err)
	}
	dir, err := sb.DirFS(filepath.Dir(cfg.KnownScanners))
	if err != nil {
		return fail(err)
	}
	base := filepath.Base(cfg.KnownScanners)
	fi, err := fs.Stat(dir, base)
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file"))
	}
	f, err := dir.Open(base)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	b, err := policy.ReadAllMax(f, policy.MaxKnownFileBytes)
	if err != nil {
		return fail(err)
	}
	ks, err := KnownScanners(b)
	if err != nil {
		return fail(err)
	}
	return ks, nil
}

// KnownScanners parses a known-scanners file (policy.ParseKnownScanners)
// into the engine's type.
func KnownScanners(b []byte) ([]scan.KnownScanner, error) {
	ks, err := policy.ParseKnownScanners(b)
	if err != nil {
		return nil, err
	}
	out := make([]scan.KnownScanner, len(ks))
	for i, k := range ks {
		out[i] = scan.KnownScanner{Prefix: k.Prefix, Label: k.Label}
	}
	return out, nil
}

// SiteArgs are the site-context arguments of the tools that list
// suspects.
type SiteArgs struct {
	HomeNets []string `json:"home_nets" max:"1024" desc:"CIDRs or addresses of the home networks, for each suspect's direction; default PORT_HUNTER_HOME_NETS, else RFC 1918, ULA and link-local"`
	Ignore   []string `json:"ignore" max:"1024" desc:"CIDRs or addresses to suppress for this call, like the known scanners: counted under suppressed, not listed"`
}

// site is the site context of a call: its home_nets, else the server's;
// the server's known scanners and darknets; its ignore list.
func (a SiteArgs) site(home []netip.Prefix, known []scan.KnownScanner, dark []netip.Prefix) (scan.Site, error) {
	st := scan.Site{Home: home, Known: known, Darknets: dark}
	if len(a.HomeNets) > 0 {
		nets, err := parseNets("home_nets", a.HomeNets)
		if err != nil {
			return st, err
		}
		st.Home = nets
	}
	nets, err := parseNets("ignore", a.Ignore)
	if err != nil {
		return st, err
	}
	st.Ignore = nets
	return st, nil
}

func parseNets(arg string, xs []string) ([]netip.Prefix, error) {
	if len(xs) > policy.MaxSiteNets {
		return nil, fmt.Errorf("%w: %s: more than %d networks", ErrInvalidArgument, arg, policy.MaxSiteNets)
	}
	out := make([]netip.Prefix, 0, len(xs))
	for _, x := range xs {
		p, err := policy.ParsePrefix(x)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidArgument, arg, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// SiteView is the site context an answer was made with.
type SiteView struct {
	HomeNets        []string          `json:"home_nets" desc:"the home networks used for direction, at most 64 listed (home_nets_total counts them)"`
	HomeNetsTotal   int               `json:"home_nets_total"`
	HomeNetsDefault bool              `json:"home_nets_default" desc:"true: none configured or given, so RFC 1918, ULA and link-local are home"`
	Suppressed      []scan.Suppressed `json:"suppressed" desc:"listed sources not shown because a known scanner's label or the ignore argument matched, by label, at most 32"`
	SuppressedTotal int               `json:"suppressed_total" desc:"sources suppressed, all labels together"`
	RateFiltered    int               `json:"rate_filtered,omitempty" desc:"sources dropped by an explicit min_rate_pps (their first qualifying episode was slower)"`
	Darknets        []string          `json:"darknets,omitempty" desc:"the darknets of PORT_HUNTER_DARKNETS, at most 64 listed: a source that probes 3 of their addresses is listed with reason darknet"`
	DarknetsTotal   int               `json:"darknets_total,omitempty"`
}

// maxSiteViewNets caps the home networks an answer lists.
const maxSiteViewNets = 64

// siteView is the site part of a triage page.
func SiteOf(pg *scan.TriagePage) *SiteView {
	v := &SiteView{HomeNets: []string{}, HomeNetsTotal: len(pg.HomeNets), HomeNetsDefault: pg.HomeDefault,
		Suppressed: pg.Suppressed, SuppressedTotal: pg.SuppressedTotal, RateFiltered: pg.RateFiltered}
	for _, p := range pg.HomeNets[:min(len(pg.HomeNets), maxSiteViewNets)] {
		v.HomeNets = append(v.HomeNets, p.String())
	}
	v.DarknetsTotal = len(pg.Darknets)
	for _, p := range pg.Darknets[:min(len(pg.Darknets), maxSiteViewNets)] {
		v.Darknets = append(v.Darknets, p.String())
	}
	if v.Suppressed == nil {
		v.Suppressed = []scan.Suppressed{}
	}
	return v
}

// Reputation is the triage's intel question, answered from db's offline
// intel only (intel.DB.OfflineReputation): the blocklists, an OTX import's
// pulses and a GreyNoise import's "malicious" list a source; its
// "benign" marks a known benign scanner. Nil without a database.
func Reputation(ctx context.Context, db *intel.DB) func(netip.Addr) ([]string, bool, string) {
	if db == nil {
		return nil
	}
	return func(a netip.Addr) ([]string, bool, string) {
		rep, err := db.OfflineReputation(ctx, a)
		if err != nil {
			return nil, false, "" // ctx ended: the listing stops with ctx's error
		}
		lists := rep.Lists
		if rep.Pulses > 0 {
			lists = append(lists, fmt.Sprintf("OTX import (%d pulse(s))", rep.Pulses))
		}
		if rep.Classification == "malicious" {
			lists = append(lists, "GreyNoise import (malicious)")
		}
		return lists, rep.Classification == "benign", rep.Actor
	}
}
