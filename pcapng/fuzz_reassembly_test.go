package pcapng

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"testing"
)

// FuzzReassembler reads its input as a program of fragments (fragOp),
// builds each one as a raw IPv4 or IPv6 packet, runs Decode and a
// Reassembler with small limits (3 datagrams, so the table fills), and
// checks:
//   - no panic; memory bounded: the tables never grow past the limit;
//   - every fragment counted in exactly one outcome, the held fragments
//     are those of the live datagrams, and the index finds each of them;
//   - no fragment but the completing one carries a transport header;
//   - agreement with refReassembler, a plain map-and-byte-array
//     reassembler written from the same rules and from the generating
//     parameters (not from the packets): the same counts, and each
//     datagram completed at the same frame with the transport header
//     Decode reads from the whole datagram it rebuilt.
func FuzzReassembler(f *testing.F) {
	syn := synSegment(80)
	seedProgram := func(ops ...[]byte) []byte { return slices.Concat(ops...) }
	op := func(flags, off, n, proto byte, data []byte) []byte {
		return append([]byte{flags, off, n, proto}, data...)
	}
	f.Add(seedProgram( // nmap -f
		op(0x08, 0, 8, 0, syn[:8]), op(0x08, 1, 8, 0, syn[8:16]), op(0x00, 2, 8, 0, syn[16:24])))
	f.Add(seedProgram( // reverse, IPv6
		op(0x01, 2, 8, 0, syn[16:24]), op(0x09, 1, 8, 0, syn[8:16]), op(0x09, 0, 8, 0, syn[:8])))
	f.Add(seedProgram( // overlap and conflict, a timeout, another id
		op(0x08, 0, 16, 0, syn[:16]), op(0x82, 1, 16, 0, syn[8:24]), op(0x4a, 0, 8, 1, syn[:8]), op(0x00, 1, 16, 0, syn[8:24])))
	f.Add(seedProgram( // a cut capture, a big offset, an empty fragment
		op(0x18, 0, 24, 0, syn), op(0x20, 3, 16, 2, syn[:16]), op(0x08, 4, 0, 0, nil)))
	// Found by this target: a data offset below 5 words completed by a
	// later fragment kept that fragment's PayloadLen.
	bad := slices.Clone(syn[:16])
	bad[12] = 3 << 4
	f.Add(seedProgram(op(0x08, 0, 16, 0, bad), op(0x00, 2, 48, 0, nil)))
	// Found by this target: a second fragment header inside the first
	// fragment's data (after destination options) made Decode's
	// identification differ from the datagram's.
	f.Add([]byte("Y\x0007,"))
	f.Fuzz(func(t *testing.T, prog []byte) {
		lim := ReassemblyLimits{MaxDatagrams: 3, TimeoutNS: FragTimeoutNS}
		r := NewReassembler(lim)
		ref := newRefReassembler(lim)
		ts := int64(1_773_480_413_000_000_000)
		var fed uint64
		for frame := uint64(1); len(prog) >= 4 && frame < 400; frame++ {
			var o fragOp
			o, prog = nextFragOp(prog)
			ts = o.step(ts)
			pkt, capLen := o.packet()
			rec := Record{Frame: frame, LinkType: LinkRaw, Timestamp: ts, CapLen: capLen, OrigLen: len(pkt), Data: pkt[:capLen]}
			var p Packet
			Decode(&rec, &p)
			r.Add(&rec, &p)
			ref.expire(ts)
			if p.Frag == FragNone { // offset 0 without more fragments: a whole datagram
				continue
			}
			fed++
			want, completed := ref.add(o, frame, ts)
			if p.Frag != FragNone && !p.Reassembled && p.L4 != L4None {
				t.Fatalf("frame %d: a held fragment with L4 %d", frame, p.L4)
			}
			if p.Reassembled != completed {
				t.Fatalf("frame %d (%+v): reassembled %v, reference %v\nstats %+v\nreference %+v", frame, o, p.Reassembled, completed, r.Stats(), ref.st)
			}
			if completed && transportOf(p) != transportOf(want) {
				t.Fatalf("frame %d: reassembled\n %+v\nreference\n %+v", frame, transportOf(p), transportOf(want))
			}
			checkReassembler(t, r, lim, fed)
		}
		st := r.Stats()
		ref.st.Incomplete = ref.held()
		if st != ref.st {
			t.Fatalf("stats %+v\nreference %+v", st, ref.st)
		}
	})
}

// checkReassembler asserts r's bookkeeping after fed fragments.
func checkReassembler(t *testing.T, r *Reassembler, lim ReassemblyLimits, fed uint64) {
	t.Helper()
	st := r.Stats()
	if sum := st.Reassembled + st.TimedOut + st.Incomplete + st.DroppedLimit + st.Invalid; sum != fed {
		t.Fatalf("outcomes add up to %d (%+v), %d fragments fed", sum, st, fed)
	}
	if len(r.slots) > lim.MaxDatagrams || cap(r.slots) > lim.MaxDatagrams || r.live > lim.MaxDatagrams ||
		(r.slots != nil && len(r.index) >= 4*lim.MaxDatagrams) {
		t.Fatalf("tables grew: %d slots, %d index entries, %d live", len(r.slots), len(r.index), r.live)
	}
	var held uint64
	live := 0
	for si := r.head; si >= 0; si = r.slots[si].next {
		s := &r.slots[si]
		held += uint64(s.frags)
		live++
		if got, ok := r.find(s.key, maphash.Comparable(r.seed, s.key)); !ok || got != si {
			t.Fatalf("slot %d: the index finds %d, %v", si, got, ok)
		}
	}
	entries := 0
	for _, e := range r.index {
		if e >= 0 {
			entries++
		}
	}
	if live != r.live || held != r.held || entries != r.live {
		t.Fatalf("%d live slots listed, %d counted, %d index entries; %d fragments held, %d counted", live, r.live, entries, held, r.held)
	}
}

// fragOp is one generated fragment: 4 bytes of parameters, then its data.
//
//	flags: bit 0 IPv6; bit 3 more fragments; bit 4 cut the capture to 28
//	bytes of data; bit 5 a far offset (8191 - off units); bits 1-2 the
//	identification (four datagrams); bits 6-7 the time step: +1 µs,
//	+10 s, +61 s, or back 5 s
//	off: offset in 8-byte units; n: data length; proto: 6, 17, 1, or the
//	IPv6 destination-options header before TCP
type fragOp struct {
	v6, more, cut bool
	id            uint32
	off, n        int
	proto         uint8
	tsStep        uint8
	data          []byte
}

func nextFragOp(b []byte) (fragOp, []byte) {
	o := fragOp{v6: b[0]&1 != 0, more: b[0]&8 != 0, cut: b[0]&16 != 0, id: uint32(b[0]>>1&3) + 1, tsStep: b[0] >> 6,
		off: int(b[1]) * 8, n: int(b[2])}
	if b[0]&32 != 0 {
		o.off = (8191 - int(b[1])) * 8
	}
	o.proto = [4]uint8{ipProtoTCP, ipProtoUDP, ipProtoICMP, ip6ExtDestOpts}[b[3]&3]
	if !o.v6 && o.proto == ip6ExtDestOpts {
		o.proto = ipProtoTCP
	}
	b = b[4:]
	take := min(o.n, len(b))
	o.data = make([]byte, o.n)
	copy(o.data, b[:take])
	return o, b[take:]
}

func (o fragOp) step(ts int64) int64 {
	switch o.tsStep {
	case 1:
		return ts + 10_000_000_000
	case 2:
		return ts + 61_000_000_000
	case 3:
		return ts - 5_000_000_000
	}
	return ts + 1000
}

// packet builds the fragment and the length captured.
func (o fragOp) packet() ([]byte, int) {
	var b []byte
	if o.v6 {
		b = []byte{0x60, 0, 0, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(ip6FragHdrLen+o.n))
		b = append(b, ip6ExtFragment, 64)
		b = append(b, fragSrc6.AsSlice()...)
		b = append(b, fragDst6.AsSlice()...)
		fo := uint16(o.off)
		if o.more {
			fo |= 1
		}
		b = append(b, o.proto, 0)
		b = binary.BigEndian.AppendUint16(b, fo)
		b = binary.BigEndian.AppendUint32(b, o.id)
	} else {
		b = []byte{0x45, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(IPv4MinLen+o.n))
		b = binary.BigEndian.AppendUint16(b, uint16(o.id))
		fo := uint16(o.off / 8)
		if o.more {
			fo |= ip4FlagMF
		}
		b = binary.BigEndian.AppendUint16(b, fo)
		b = append(b, 59, o.proto, 0, 0)
		b = append(b, fragSrc4.AsSlice()...)
		b = append(b, fragDst4.AsSlice()...)
	}
	hdr := len(b)
	b = append(b, o.data...)
	if o.cut && o.n > 28 {
		return b, hdr + 28
	}
	return b, len(b)
}

// transportL4 is what a packet says about its transport header.
type transportL4 struct {
	L4                           L4
	Proto                        uint8
	SrcPort, DstPort             uint16
	PayloadLen                   int
	TCPFlags                     uint16
	TCPReserved                  uint8
	TCPFlagsUnknown              bool
	Seq, Ack                     uint32
	Window                       uint16
	DataOffset, WScale, OptCount uint8
	MSS                          uint16
	OptKinds                     uint64
	ICMPType, ICMPCode           uint8
	ICMPID, ICMPSeq              uint16
	Quoted, QHasPorts, QHasSeq   bool
	QProto                       uint8
	QSrcPort, QDstPort           uint16
	QSeq                         uint32
	L4Anomalies                  uint32
	FragEvasion                  uint8
	Src, Dst                     [16]byte
	QSrcValid, QDstValid         bool
	QSrc, QDst                   [16]byte
}

func transportOf(p Packet) transportL4 {
	x := transportL4{L4: p.L4, Proto: p.Proto, SrcPort: p.SrcPort, DstPort: p.DstPort, PayloadLen: p.PayloadLen,
		TCPFlags: p.TCPFlags, TCPReserved: p.TCPReserved, TCPFlagsUnknown: p.TCPFlagsUnknown, Seq: p.Seq, Ack: p.Ack,
		Window: p.Window, DataOffset: p.DataOffset, WScale: p.WScale, OptCount: p.OptCount, MSS: p.MSS, OptKinds: p.OptKinds,
		ICMPType: p.ICMPType, ICMPCode: p.ICMPCode, ICMPID: p.ICMPID, ICMPSeq: p.ICMPSeq,
		Quoted: p.Quoted, QHasPorts: p.QHasPorts, QHasSeq: p.QHasSeq, QProto: p.QProto, QSrcPort: p.QSrcPort,
		QDstPort: p.QDstPort, QSeq: p.QSeq, FragEvasion: p.FragEvasion,
		L4Anomalies: p.Anomalies & (AnomalyL4Truncated | AnomalyBadL4Header),
		Src:         p.Src.As16(), Dst: p.Dst.As16(), QSrcValid: p.QSrc.IsValid(), QDstValid: p.QDst.IsValid()}
	if x.QSrcValid {
		x.QSrc = p.QSrc.As16()
	}
	if x.QDstValid {
		x.QDst = p.QDst.As16()
	}
	return x
}

// refReassembler is the fuzz oracle: the rules of reassembly.go written
// the plain way, over whole byte arrays and maps, fed the generating
// parameters.
type refReassembler struct {
	lim   ReassemblyLimits
	st    ReassemblyStats
	dgs   map[refKey]*refDatagram
	order []refKey // creation order, oldest first
}

type refKey struct {
	v6 bool
	id uint32
	// IPv4 keys on the protocol too (RFC 791)
	proto uint8
}

type refDatagram struct {
	first    int64
	total    int // -1 until the last fragment
	frags    int
	have     []bool // bytes received
	known    []bool // bytes captured
	data     []byte
	proto    uint8 // from the fragment at offset 0
	evasion  uint8
	sawFirst bool
}

// grow makes room for n bytes of the datagram.
func (d *refDatagram) grow(n int) {
	n = max(n, FragKeepBytes)
	for len(d.have) < n {
		d.have, d.known, d.data = append(d.have, false), append(d.known, false), append(d.data, 0)
	}
}

func newRefReassembler(l ReassemblyLimits) *refReassembler {
	return &refReassembler{lim: l, dgs: map[refKey]*refDatagram{}}
}

func (r *refReassembler) held() uint64 {
	var n uint64
	for _, d := range r.dgs {
		n += uint64(d.frags)
	}
	return n
}

func (r *refReassembler) drop(k refKey) {
	delete(r.dgs, k)
	r.order = slices.DeleteFunc(r.order, func(x refKey) bool { return x == k })
}

// expire gives up datagrams older than the timeout at ts, oldest first,
// stopping at the first one still in time; every packet does it.
func (r *refReassembler) expire(ts int64) {
	for ts != 0 && len(r.order) > 0 {
		d := r.dgs[r.order[0]]
		if ts <= d.first || uint64(ts)-uint64(d.first) <= uint64(r.lim.TimeoutNS) {
			break
		}
		r.st.TimedOut += uint64(d.frags)
		r.drop(r.order[0])
	}
}

// add feeds fragment o at frame and ts, after expire; it returns the
// packet Decode makes of the whole datagram when o completes one.
func (r *refReassembler) add(o fragOp, frame uint64, ts int64) (Packet, bool) {
	end := o.off + o.n
	unfrag := IPv4MinLen
	if o.v6 {
		unfrag = 0
	}
	if o.n == 0 || o.more && o.n%8 != 0 || end+unfrag > 65535 {
		r.st.Invalid++
		return Packet{}, false
	}
	k := refKey{v6: o.v6, id: o.id}
	if !o.v6 {
		k.proto = o.proto
	}
	d := r.dgs[k]
	if d == nil {
		if len(r.dgs) == r.lim.MaxDatagrams {
			r.st.DroppedLimit += uint64(r.dgs[r.order[0]].frags)
			r.drop(r.order[0])
		}
		d = &refDatagram{first: ts, total: -1}
		r.dgs[k] = d
		r.order = append(r.order, k)
	}
	d.grow(end + 1)
	maxEnd := 0
	for i, h := range d.have {
		if h {
			maxEnd = i + 1
		}
	}
	if !o.more && (d.total >= 0 && d.total != end || maxEnd > end) || o.more && d.total >= 0 && end > d.total {
		r.st.Invalid++
		return Packet{}, false
	}
	captured := o.n
	if o.cut && o.n > 28 {
		captured = 28
	}
	covered, within, conflict := false, true, false
	for i := o.off; i < end; i++ {
		covered = covered || d.have[i]
	}
	// within: the fragment lies inside one run of bytes already held.
	for i := o.off; i < end; i++ {
		within = within && d.have[i]
	}
	for i := o.off; i < o.off+captured && i < FragKeepBytes; i++ {
		if d.known[i] {
			conflict = conflict || d.data[i] != o.data[i-o.off]
			continue
		}
		d.known[i], d.data[i] = true, o.data[i-o.off]
	}
	switch {
	case conflict:
		r.st.Overlapping++
		d.evasion |= FragOverlap | FragConflict
	case covered && within:
		r.st.Duplicate++
	case covered:
		r.st.Overlapping++
		d.evasion |= FragOverlap
	}
	for i := o.off; i < end; i++ {
		d.have[i] = true
	}
	runs := 0
	for i := range d.have {
		if d.have[i] && (i == 0 || !d.have[i-1]) {
			runs++
		}
	}
	if runs > maxFragRuns {
		r.st.DroppedLimit += uint64(d.frags) + 1
		r.drop(k)
		return Packet{}, false
	}
	d.frags++
	if o.off == 0 {
		d.proto = o.proto
		if tinyFirst(fragment{proto: o.proto, data: o.data[:captured], length: o.n, v6: o.v6}) {
			r.st.Tiny++
			d.evasion |= FragTiny
		}
	}
	if !o.more {
		d.total = end
	}
	if d.total <= 0 || runs != 1 || !d.have[0] || !d.have[d.total-1] {
		return Packet{}, false
	}
	// Complete: Decode the whole datagram, captured as far as its bytes
	// were (and no further than the FragKeepBytes kept).
	known := 0
	for known < min(d.total, FragKeepBytes) && d.known[known] {
		known++
	}
	var whole []byte
	if o.v6 {
		whole = whole6(d.proto, d.data[:d.total])
	} else {
		whole = ip4(uint16(o.id), d.proto, d.data[:d.total], 0, d.total, false)
	}
	hdr := len(whole) - d.total
	rec := Record{Frame: frame, LinkType: LinkRaw, Timestamp: ts, CapLen: hdr + known, OrigLen: len(whole), Data: whole[:hdr+known]}
	var p Packet
	Decode(&rec, &p)
	p.FragEvasion = d.evasion
	r.st.DatagramsReassembled++
	r.st.Reassembled += uint64(d.frags)
	r.drop(k)
	return p, true
}
