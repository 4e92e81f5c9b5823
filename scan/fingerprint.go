package scan

import (
	"fmt"

	"porthunter/pcapng"
)

// Tool is a guess at the scanning tool from exact field relationships of
// its probes (DETECTION.md §5). It is evidence for the report only, never
// a finding on its own, and needs fingerprintMinProbes TCP probes.
type Tool struct {
	Name       string   `json:"name"`
	Confidence float64  `json:"confidence"`
	Evidence   []string `json:"evidence"`
}

// fpCounters accumulates fingerprint evidence over a source's TCP probes
// (the first packet of each target, as its target recorded it), in file
// order: Finish replays them per source, so the evidence does not depend
// on how the targets were split between shards.
type fpCounters struct {
	n, syn, v4             uint32 // TCP probes, of which SYN, of which IPv4
	win1024, win65535      uint32
	win4128, win512        uint32
	mss1460Only, winStyle  uint32 // SYN options exactly MSS 1460; ZMap's "windows" list
	noOpts                 uint32
	ttl255, ttlNmap        uint32 // observed TTL above 128; within nmap's 37-59 less a few hops
	masscanID, zmapID      uint32 // IPID == (dst ^ dport ^ seq) & 0xffff; IPID 54321
	miraiSeq               uint32 // seq == destination IPv4 address
	uniSame                uint32 // seq ^ dst ^ ((dport<<16) + sport) equal to the first probe's
	uniVal                 uint32
	pairs                  [fpPairSlots]fpPair // the first (sport, seq) pairs seen, with their counts
	prevSport              uint16
	sportInc               uint32 // sport one above the previous probe's (hping3)
	ackNoFlag              uint32 // non-zero ack field without the ACK flag (hping3)
	zmapSport              uint32 // sport within 32768-61000
	firstDport, otherDport bool   // whether probes went to more than one port
}

// fpPair is one (source port, sequence) pair and how many probes used it.
type fpPair struct {
	sport uint16
	seq   uint32
	n     uint32
}

// pairSame counts the probes that share their (sport, seq) pair with at
// least two others: nmap's fixed pair per scan.
func (f *fpCounters) pairSame() uint32 {
	var k uint32
	for _, p := range f.pairs {
		if p.n >= 3 {
			k += p.n
		}
	}
	return k
}

// Option kinds of ZMap ≥ 4.1's default "windows" SYN: MSS, NOP, WS, NOP,
// NOP, SACK-permitted, first option in the low byte (pcapng.Packet.OptKinds).
const zmapWindowsOpts = 0x04_01_01_03_01_02

// add counts probe t, whose destination is dst, in file order.
func (f *fpCounters) add(t *target, dst ipAddr) {
	f.n++
	switch t.window {
	case 1024:
		f.win1024++
	case 65535:
		f.win65535++
	case 4128:
		f.win4128++
	case 512:
		f.win512++
	}
	if t.class == clsSYN {
		f.syn++
		if t.marks&tmMSS1460Only != 0 {
			f.mss1460Only++
		}
		if t.marks&tmWinStyle != 0 {
			f.winStyle++
		}
	}
	if t.marks&tmNoOpts != 0 {
		f.noOpts++
	}
	switch {
	case t.ttl > 128:
		f.ttl255++
	case t.ttl >= 30 && t.ttl <= 59:
		f.ttlNmap++
	}
	if !dst.v6 {
		f.v4++
		d := uint32(dst.lo)
		if t.ipid == uint16(d^uint32(t.port)^t.seq) {
			f.masscanID++
		}
		if t.ipid == 54321 {
			f.zmapID++
		}
		if t.seq == d {
			f.miraiSeq++
		}
		u := t.seq ^ d ^ (uint32(t.port)<<16 + uint32(t.sport))
		if f.v4 == 1 {
			f.uniVal = u
		}
		if u == f.uniVal {
			f.uniSame++
		}
	}
	// nmap puts its encoded value in ack (seq 0) for ACK-flag probes.
	key := t.seq
	if t.class == clsACK || t.class == clsMAIMON {
		key = t.ack
	}
	if f.n > 1 && t.sport == f.prevSport+1 {
		f.sportInc++
	}
	for i := range f.pairs {
		s := &f.pairs[i]
		if s.n == 0 {
			*s = fpPair{sport: t.sport, seq: key, n: 1}
			break
		}
		if s.sport == t.sport && s.seq == key {
			s.n++
			break
		}
	}
	f.prevSport = t.sport
	if t.ack != 0 && t.flags&pcapng.TCPFlagACK == 0 {
		f.ackNoFlag++
	}
	if t.sport >= 32768 && t.sport <= 61000 {
		f.zmapSport++
	}
}

// most reports whether k is at least 90% of n (DETECTION.md §5's
// "≥ 90% of SYNs"), with n large enough to mean something.
func most(k, n uint32) bool {
	return n >= fingerprintMinProbes && k*10 >= n*9
}

func frac(what string, k, n uint32) string {
	return fmt.Sprintf("%s on %d/%d probes", what, k, n)
}

// tool names the most specific tool the counters fit, or nil.
func (f *fpCounters) tool() *Tool {
	if f.n < fingerprintMinProbes {
		return nil
	}
	var t *Tool
	switch {
	case most(f.masscanID, f.v4) && f.v4 == f.n:
		// A random match has probability 1/65536 per probe.
		t = &Tool{Name: "masscan", Confidence: 0.95, Evidence: []string{frac("IP ID == (dst ^ dport ^ seq) & 0xffff", f.masscanID, f.v4)}}
		f.also(t, f.ttl255, "TTL 255")
		f.also(t, f.win1024, "window 1024")
		f.also(t, f.noOpts, "no TCP options")
	case most(f.miraiSeq, f.v4) && f.v4 == f.n:
		t = &Tool{Name: "mirai", Confidence: 0.95, Evidence: []string{frac("sequence number == destination address", f.miraiSeq, f.v4)}}
	case most(f.zmapID, f.v4) && f.v4 == f.n:
		t = &Tool{Name: "zmap", Confidence: 0.9, Evidence: []string{frac("IP ID 54321", f.zmapID, f.v4)}}
		f.also(t, f.win65535, "window 65535")
		f.also(t, f.ttl255, "TTL 255")
	case most(f.win1024, f.n) && most(f.pairSame(), f.n) && (f.syn == 0 || most(f.mss1460Only, f.syn)):
		t = &Tool{Name: "nmap", Confidence: 0.9, Evidence: []string{frac("window 1024", f.win1024, f.n),
			frac("a fixed source port and sequence number per run", f.pairSame(), f.n)}}
		if f.syn > 0 {
			t.Evidence = append(t.Evidence, frac("SYN options exactly MSS 1460", f.mss1460Only, f.syn))
		}
		f.also(t, f.ttlNmap, "TTL within nmap's 37-59")
	case most(f.uniSame, f.v4) && f.v4 == f.n:
		t = &Tool{Name: "unicornscan", Confidence: 0.85, Evidence: []string{frac("seq ^ dst ^ ((dport<<16) + sport) constant", f.uniSame, f.v4)}}
		f.also(t, f.win4128, "window 4128")
		f.also(t, f.ttl255, "TTL 255")
	case most(f.sportInc, f.n-1) && (most(f.ackNoFlag, f.n) || most(f.win512, f.n)):
		t = &Tool{Name: "hping3", Confidence: 0.8, Evidence: []string{frac("source port +1 per probe", f.sportInc, f.n-1)}}
		f.also(t, f.ackNoFlag, "non-zero ack without the ACK flag")
		f.also(t, f.win512, "window 512")
	case most(f.win1024, f.syn) && most(f.mss1460Only, f.syn):
		t = &Tool{Name: "nmap", Confidence: 0.6, Evidence: []string{frac("window 1024", f.win1024, f.n),
			frac("SYN options exactly MSS 1460", f.mss1460Only, f.syn)}}
	case most(f.win65535, f.syn) && most(f.zmapSport, f.syn) && (most(f.winStyle, f.syn) || most(f.mss1460Only, f.syn)):
		t = &Tool{Name: "zmap", Confidence: 0.6, Evidence: []string{frac("window 65535", f.win65535, f.n),
			frac("source port within 32768-61000", f.zmapSport, f.n)}}
	}
	return t
}

// also adds evidence that most probes share.
func (f *fpCounters) also(t *Tool, k uint32, what string) {
	if most(k, f.n) {
		t.Evidence = append(t.Evidence, frac(what, k, f.n))
	}
}
