package capture

import (
	"porthunter/pcapng"
	"porthunter/scan"
)

// Stats is the capture report's "stats": the scan engine's counts, what
// fragment reassembly made of the fragments (pcapng.ReassemblyStats), and
// the TCP segments whose flags were not in the capture. The members of
// the last two are left out while zero, so a capture without fragments
// reads as before they existed.
type Stats struct {
	scan.CaptureStats
	pcapng.ReassemblyStats
	// TCPFlagsUnknown counts TCP segments, reassembled ones included,
	// whose ports were captured but whose flags were not (a snaplen cut,
	// a fragment that never completed is not counted: it has no TCP
	// header at all). The scan engine does not classify them.
	TCPFlagsUnknown uint64 `json:"tcp_flags_unknown,omitempty"`
}

// decoder turns records into the packets the aggregator takes: decoded,
// then fragments reassembled, so no probe is classified from a fragment
// (a first fragment of 8 bytes has no TCP flags: read alone, it is a NULL
// probe that was never sent).
type decoder struct {
	frag         *pcapng.Reassembler
	flagsUnknown uint64
}

func newDecoder(rl pcapng.ReassemblyLimits) *decoder {
	return &decoder{frag: pcapng.NewReassembler(rl)}
}

// decode fills p from rec, which must come in file order.
func (d *decoder) decode(rec *pcapng.Record, p *pcapng.Packet) {
	pcapng.Decode(rec, p)
	d.frag.Add(rec, p)
	if p.L4 == pcapng.L4TCP && p.TCPFlagsUnknown {
		d.flagsUnknown++
	}
}

// stats is the report's stats: cs and the decoder's counts.
func (d *decoder) stats(cs scan.CaptureStats) Stats {
	return Stats{CaptureStats: cs, ReassemblyStats: d.frag.Stats(), TCPFlagsUnknown: d.flagsUnknown}
}
