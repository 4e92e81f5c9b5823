package scan

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
)

// Idle (zombie) scans, nmap -sI zombie[:port] target (DETECTION.md §1;
// nmap idle_scan.cc). The real scanner, the prober, never sends the target
// a packet with its own address. It sends the zombie SYN/ACKs to one port
// (the probe port, 80 by default) from source ports near nmap's magic
// port, and reads the IP ID of each RST the zombie answers; between two
// such readings it sends the target SYNs carrying the zombie's address and
// the probe port as source (idle_scan.cc l.971-975). An open port's
// SYN/ACK goes to the zombie, whose RST to the target spends an IP ID that
// the next reading sees.
//
// On the wire the zombie is the scanner: the SYNs carry its address, and
// it is listed as such. The prober's SYN/ACKs are neither probes nor
// answers to anything, which is also what DoS backscatter looks like; they
// differ in shape: backscatter leaves one server port for many hosts and
// ports, the idle probes go from changing source ports to one port of one
// host that answers each with a RST. The link that names the prober is the
// zombie's own SYNs: they leave from the very port the prober probes, in
// the same stretch of time.

// idleMinProbes is how many SYN/ACKs from distinct source ports to one
// port of one host, answered by RST, make a run of IP ID probes: nmap
// sends 6 to test the zombie and then about 2 per batch of ports
// (idle_scan.cc NUM_IPID_PROBES; ipid_proxy_probe). Its spoofing self-test
// sends 4 from the target's address, all from one source port, which
// count once.
const idleMinProbes = 4

// idleCand is a run of unsolicited SYN/ACKs from one source to one port of
// one host that the host answered with RST: IP ID probing, if the host's
// SYNs leave from that port.
type idleCand struct {
	prober int32  // source index
	t      target // the run; its dst is the zombie's address index, port the zombie's port
}

// idleCandidate notes t, an unsolicited SYN/ACK target of r, if it has
// the shape of IP ID probing.
func (b *srcBuilder) idleCandidate(r *srcResult, t *target) {
	if t.pkts >= idleMinProbes && t.state&stRST != 0 {
		b.idle = append(b.idle, idleCand{prober: b.an.srcOf[r.ai], t: *t})
	}
}

// idleLink is one idle scan: a prober, its zombie and what ties them.
type idleLink struct {
	prober, zombie int32  // source indexes
	probe          target // the prober's SYN/ACKs to the zombie (the first one's time and frame)
	spoofed        int32  // the zombie's SYN probes from the probed port (sent by the prober)
	spoofedHosts   int32  // distinct hosts they probed
	firstSpoofed   int64
	lastSpoofed    int64
	// primary: the zombie's scan is this prober's (its link with the most
	// spoofed SYNs, then IP ID probes, then the lower address). Two
	// probers of one zombie at once are unheard of; a capture that makes
	// thousands still lends the zombie's verdict once.
	primary bool
}

// linkIdle finds the idle scans among the candidates: for each zombie, one
// pass over its probes gathers its SYNs by source port; a candidate is
// linked when the zombie's SYNs leave from the port it probed, overlap its
// probing in time (within an idle gap), and do not probe the candidate
// itself (nmap's self-test spoofs the target's address towards the
// zombie). Of several probers of one zombie port, the one with the most
// IP ID probes is taken. The cost is a sort of the candidates and one
// pass over each zombie's probes, however many candidates name it.
func (an *Analysis) linkIdle(ctx context.Context, cands []idleCand) error {
	if len(cands) == 0 {
		return nil
	}
	p := newPoll(ctx)
	slices.SortFunc(cands, func(x, y idleCand) int {
		if c := cmp.Compare(x.t.dst, y.t.dst); c != 0 {
			return c
		}
		if c := cmp.Compare(x.t.port, y.t.port); c != 0 {
			return c
		}
		return cmp.Compare(x.prober, y.prober)
	})
	type portRun struct {
		port        uint16
		cands       []idleCand // the candidates probing port, by source index
		n           int32
		first, last int64
		hosts       []int32 // address indexes, sorted and compacted once gathered
	}
	var runs []portRun
	for i := 0; i < len(cands); {
		j := i
		for j < len(cands) && cands[j].t.dst == cands[i].t.dst {
			j++
		}
		group := cands[i:j]
		i = j
		zi := an.srcOf[group[0].t.dst]
		if zi < 0 {
			continue // the host never sent anything: no SYNs to link
		}
		z := &an.sources[zi]
		if p.work(len(z.probes) + len(group)) {
			return p.err
		}
		runs = runs[:0]
		for k := 0; k < len(group); {
			l := k
			for l < len(group) && group[l].t.port == group[k].t.port {
				l++
			}
			runs = append(runs, portRun{port: group[k].t.port, cands: group[k:l]})
			k = l
		}
		for k := range z.probes {
			t := &z.probes[k]
			if t.class != clsSYN || t.proto != protoTCP {
				continue
			}
			ri, ok := slices.BinarySearchFunc(runs, t.sport, func(r portRun, sp uint16) int { return cmp.Compare(r.port, sp) })
			if !ok {
				continue
			}
			r := &runs[ri]
			if r.n == 0 {
				r.first, r.last = t.firstTS, t.firstTS
			}
			r.n++
			r.first, r.last = min(r.first, t.firstTS), max(r.last, t.firstTS)
			r.hosts = append(r.hosts, t.dst)
		}
		for ri := range runs {
			r := &runs[ri]
			if r.n == 0 {
				continue
			}
			slices.Sort(r.hosts)
			r.hosts = slices.Compact(r.hosts)
			var best *idleCand
			for k := range r.cands {
				c := &r.cands[k]
				pr := &an.sources[c.prober]
				if _, probed := slices.BinarySearch(r.hosts, pr.ai); probed {
					continue // a host the zombie's SYNs probed: the target, spoofed by the self-test
				}
				if r.first > pr.lastTS+an.idleGap || r.last < c.t.firstTS-an.idleGap {
					continue
				}
				if best == nil || c.t.pkts > best.t.pkts {
					best = c // ties: the lower source index (address), met first
				}
			}
			if best != nil {
				an.idle = append(an.idle, idleLink{prober: best.prober, zombie: zi, probe: best.t, spoofed: r.n,
					spoofedHosts: int32(len(r.hosts)), firstSpoofed: r.first, lastSpoofed: r.last})
			}
			r.hosts = nil
		}
	}
	slices.SortFunc(an.idle, func(x, y idleLink) int {
		if c := cmp.Compare(x.prober, y.prober); c != 0 {
			return c
		}
		return cmp.Compare(x.zombie, y.zombie)
	})
	an.idleByZombie = make([]int32, len(an.idle))
	for k := range an.idleByZombie {
		an.idleByZombie[k] = int32(k)
	}
	// By zombie, its primary link first.
	slices.SortFunc(an.idleByZombie, func(x, y int32) int {
		a, b := &an.idle[x], &an.idle[y]
		if c := cmp.Compare(a.zombie, b.zombie); c != 0 {
			return c
		}
		if c := cmp.Compare(b.spoofed, a.spoofed); c != 0 {
			return c
		}
		if c := cmp.Compare(b.probe.pkts, a.probe.pkts); c != 0 {
			return c
		}
		return cmp.Compare(a.prober, b.prober)
	})
	for k, x := range an.idleByZombie {
		if k == 0 || an.idle[an.idleByZombie[k-1]].zombie != an.idle[x].zombie {
			an.idle[x].primary = true
		}
	}
	return nil
}

// proberLink is source si's first idle scan as the prober, or nil.
func (an *Analysis) proberLink(si int32) *idleLink {
	k, ok := slices.BinarySearchFunc(an.idle, si, func(l idleLink, s int32) int { return cmp.Compare(l.prober, s) })
	if !ok {
		return nil
	}
	return &an.idle[k]
}

// zombieLink is source si's primary idle scan as the zombie, or nil.
func (an *Analysis) zombieLink(si int32) *idleLink {
	k, ok := slices.BinarySearchFunc(an.idleByZombie, si, func(x, s int32) int { return cmp.Compare(an.idle[x].zombie, s) })
	if !ok {
		return nil
	}
	return &an.idle[an.idleByZombie[k]]
}

// idleVerdicts lists the prober of every idle scan whose zombie vs lists
// and that is not listed on its own: the scan it ran is the zombie's, so
// its verdict is the zombie's, reported under its own address (verdict.as).
// A zombie lends its verdict once, to its primary prober.
func (an *Analysis) idleVerdicts(vs *verdicts) {
	for k := range an.idle {
		l := &an.idle[k]
		zv := vs.by[l.zombie]
		if !l.primary || zv == nil || zv.as != nil || vs.by[l.prober] != nil {
			continue
		}
		v := *zv
		v.as, v.idle, v.reasons = &an.sources[l.prober], l, rsIdle
		v.group = -1
		vs.by[l.prober] = &v
	}
}

// IdleScan is what ties an idle scan's prober to its zombie, as
// scanner_detail gives it on the prober.
type IdleScan struct {
	Zombie     netip.Addr `json:"zombie"`
	ZombiePort uint16     `json:"zombie_port"`
	// IPIDProbes are the SYN/ACKs it sent the zombie from distinct source
	// ports; the zombie's RSTs to them carried IP IDs FirstIPID to LastIPID.
	IPIDProbes int  `json:"ipid_probes"`
	FirstIPID  int  `json:"zombie_first_ipid"`
	LastIPID   int  `json:"zombie_last_ipid"`
	FirstProbe Time `json:"first_probe"`
	// SpoofedProbes are the SYNs from the zombie's address and probe port
	// to SpoofedHosts hosts, between FirstSpoofed and LastSpoofed.
	SpoofedProbes int  `json:"spoofed_probes"`
	SpoofedHosts  int  `json:"spoofed_hosts"`
	FirstSpoofed  Time `json:"first_spoofed"`
	LastSpoofed   Time `json:"last_spoofed"`
}

func (an *Analysis) idleScan(l *idleLink) *IdleScan {
	first, last := l.probe.ipids()
	return &IdleScan{Zombie: an.addrAt(an.sources[l.zombie].ai), ZombiePort: l.probe.port, IPIDProbes: int(l.probe.pkts),
		FirstIPID: int(first), LastIPID: int(last), FirstProbe: an.time(l.probe.firstTS),
		SpoofedProbes: int(l.spoofed), SpoofedHosts: int(l.spoofedHosts),
		FirstSpoofed: an.time(l.firstSpoofed), LastSpoofed: an.time(l.lastSpoofed)}
}

// verdictTechniques names the techniques of v's listing: an idle scan's
// prober ran an idle scan (the SYNs it spoofed are its zombie's listing);
// a source that also ran one as prober says so beside its own.
func (an *Analysis) verdictTechniques(v *verdict) []string {
	if v.as != nil {
		return []string{"idle_scan"}
	}
	return an.sourceTechniques(v.r)
}

// sourceTechniques names r's techniques, with idle_scan when it probed a
// zombie.
func (an *Analysis) sourceTechniques(r *srcResult) []string {
	out := techniques(r)
	if an.proberLink(an.srcOf[r.ai]) != nil {
		out = append(out, "idle_scan")
		slices.Sort(out)
	}
	return nonNil(out)
}

// idleNames are the zombie source si probed as an idle scan's prober and
// the prober that used si as its zombie, each empty when none.
func (an *Analysis) idleNames(si int32) (zombie, prober string) {
	if l := an.proberLink(si); l != nil {
		zombie = an.addrAt(an.sources[l.zombie].ai).String()
	}
	if l := an.zombieLink(si); l != nil {
		prober = an.addrAt(an.sources[l.prober].ai).String()
	}
	return zombie, prober
}
