package pcapng

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
)

// IP fragment reassembly (RFC 791 §3.2, RFC 815, RFC 8200 §4.5).
//
// A scanner that fragments its probes (nmap -f: 8 bytes of data per
// fragment) leaves the TCP flags out of the first fragment: read alone,
// that fragment is a segment with flags 0, a NULL scan that never
// happened. The Reassembler holds fragments until their datagram is
// whole and hands the scan engine one packet per datagram, decoded from
// the reassembled transport header.
//
// It keeps only what classification reads: the first FragKeepBytes of
// each datagram's data (the transport header, and for an ICMP error the
// header it quotes) and which byte ranges arrived, so the payload's
// length is known without its bytes. Its tables are allocated once, at
// the first fragment, and hold at most ReassemblyLimits.MaxDatagrams
// datagrams; every fragment it could not use is counted
// (ReassemblyStats).
//
// Choices, with their reasons:
//   - Key: source, destination, protocol and identification for IPv4
//     (RFC 791 §3.2), source, destination and fragment identification for
//     IPv6 (RFC 8200 §4.5; the Next Header may differ between fragments).
//   - Timeout: FragTimeoutNS (60 s) of capture time from the
//     first-arriving fragment, never extended by later ones (RFC 8200
//     §4.5), so fragments trickled in cannot hold a slot forever.
//   - Overlap: the first bytes to arrive win (as Zeek's reassembler and
//     Snort's "first" policy keep them); a fragment overlapping bytes
//     already held is counted, and its datagram is marked FragOverlap
//     (FragConflict when the bytes differ). Targets disagree here (Linux
//     discards such datagrams since 4.19, BSDs and Windows keep
//     different bytes), so the overlap itself is reported as evasion on
//     its source instead of guessing the target's view.
//   - A fragment entirely within bytes already held, whose kept bytes
//     are identical, is a duplicate (a capture that holds packets twice),
//     counted but not evasion. Beyond the first FragKeepBytes the bytes
//     are not kept, so such a fragment counts as a duplicate there.
//   - Tiny first fragment: the fragment at offset 0 is shorter than the
//     transport header (RFC 1858 §3.1; for IPv6, the header chain RFC
//     7112 requires in the first fragment). Counted and marked FragTiny.
//   - When every slot is in use, the oldest datagram is dropped to make
//     room (as Linux's and Snort's frag tables prune their oldest): a
//     flood of fragments that never complete costs its own fragments,
//     and a probe whose fragments arrive together is still rebuilt.
//   - The reassembled packet is the fragment that completed the
//     datagram: its Frame and Timestamp, as Wireshark shows the
//     reassembled datagram in the frame where reassembly completed. It is
//     the moment the target could answer, it keeps the packets in file
//     order for the scan engine, and for a scanner's back-to-back
//     fragments it differs from the first fragment's time by
//     microseconds (a source's first_seen still counts from its first
//     fragment, which is a packet it sent).
//
// Fragments that are held, dropped or invalid keep their network fields
// but lose their transport fields (L4 becomes L4None): no flags or ports
// are ever read from a header the fragment does not hold whole.

// ReassemblySlotBytes is the memory of one reassembly slot: the slot
// (fragSlot, 344 bytes) and its entries of the index (a power of two at
// least twice the slots: fewer than four per slot). Callers count
// MaxDatagrams of them against their memory budget
// (ReassemblyLimits.Bytes); TestReassemblySlotBytes checks it. The limits
// of reassembly (FragTimeoutNS, MaxReassemblies, FragKeepBytes, ...) are
// in limits.go.
const ReassemblySlotBytes = 360

// FragEvasion bits describe how a reassembled datagram's fragments were
// shaped; no ordinary stack sends these.
const (
	FragOverlap  uint8 = 1 << iota // a fragment overlapped bytes already received
	FragConflict                   // ... with different bytes (the target's choice decides what it saw)
	FragTiny                       // the first fragment was shorter than the transport header (RFC 1858)
)

// ReassemblyLimits bound a Reassembler.
type ReassemblyLimits struct {
	// MaxDatagrams is how many datagrams may be in reassembly at once;
	// 0 turns reassembly off (every fragment is dropped and counted).
	MaxDatagrams int
	// TimeoutNS is how long, in capture time, a datagram may take to
	// complete after its first fragment; 0 or less means FragTimeoutNS.
	TimeoutNS int64
}

// DefaultReassemblyLimits are MaxReassemblies datagrams and FragTimeoutNS.
func DefaultReassemblyLimits() ReassemblyLimits {
	return ReassemblyLimits{MaxDatagrams: MaxReassemblies, TimeoutNS: FragTimeoutNS}
}

// reassemblyBudgetShare is the part of a memory budget (1/64)
// reassembly may use: 8 MiB of the default 512 MiB, room for more than
// MaxReassemblies slots.
const reassemblyBudgetShare = 64

// ReassemblyLimitsFor are the default limits within a memory budget:
// MaxReassemblies datagrams, fewer when they would take more than 1/64
// of budget (at least one).
func ReassemblyLimitsFor(budget int64) ReassemblyLimits {
	l := DefaultReassemblyLimits()
	if budget > 0 {
		l.MaxDatagrams = int(min(int64(l.MaxDatagrams), max(budget/reassemblyBudgetShare/ReassemblySlotBytes, 1)))
	}
	return l
}

// Bytes is the memory a Reassembler with these limits holds at most.
func (l ReassemblyLimits) Bytes() int64 {
	return int64(max(l.MaxDatagrams, 0)) * ReassemblySlotBytes
}

// ReassemblyStats count what became of the fragments a Reassembler saw.
// Every fragment is counted in exactly one of Reassembled, TimedOut,
// Incomplete, DroppedLimit and Invalid; Overlapping, Duplicate and Tiny
// count fragments with those shapes among them. The JSON names are part
// of the capture report; zero counts are left out.
type ReassemblyStats struct {
	// DatagramsReassembled counts the datagrams rebuilt and handed on.
	DatagramsReassembled uint64 `json:"datagrams_reassembled,omitempty"`
	// Reassembled counts the fragments of those datagrams.
	Reassembled uint64 `json:"fragments_reassembled,omitempty"`
	// TimedOut counts fragments of datagrams not complete FragTimeoutNS
	// after their first fragment.
	TimedOut uint64 `json:"fragments_timed_out,omitempty"`
	// Incomplete counts fragments of datagrams still incomplete when the
	// capture ended.
	Incomplete uint64 `json:"fragments_incomplete,omitempty"`
	// DroppedLimit counts fragments dropped by a limit: datagrams pushed
	// out of a full table (oldest first), scattered into more than 16
	// pieces, or reassembly turned off.
	DroppedLimit uint64 `json:"fragments_dropped_limit,omitempty"`
	// Invalid counts fragments no datagram can hold: empty, a non-last
	// fragment not a multiple of 8 bytes (RFC 8200 §4.5), reaching beyond
	// 65,535 bytes, an end contradicting the last fragment's, or a
	// fragment header in an IPv6 extension chain Decode did not read.
	Invalid uint64 `json:"fragments_invalid,omitempty"`
	// Overlapping counts fragments that overlapped bytes already held
	// and were not duplicates.
	Overlapping uint64 `json:"fragments_overlapping,omitempty"`
	// Duplicate counts fragments repeating bytes already held.
	Duplicate uint64 `json:"fragments_duplicate,omitempty"`
	// Tiny counts first fragments shorter than the transport header.
	Tiny uint64 `json:"fragments_tiny,omitempty"`
}

// fragKey identifies the datagram a fragment belongs to.
type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8 // IPv4 Protocol; 0 for IPv6, whose key has none
	v6       bool
}

// fragRun is a range [lo, hi) of datagram bytes received.
type fragRun struct{ lo, hi uint32 }

// fragSlot is one datagram in reassembly.
type fragSlot struct {
	key        fragKey
	firstTS    int64 // first-arriving fragment's timestamp
	home       uint32
	prev, next int32 // creation order (oldest first); next links the free list
	total      int32 // data length, known from the last fragment; -1 before
	frags      uint32
	nruns      uint8
	evasion    uint8 // FragEvasion bits
	proto      uint8 // protocol of the data: IPv4 Protocol, or the first fragment's Next Header (IPv6)
	runs       [maxFragRuns]fragRun
	known      [FragKeepBytes / 64]uint64 // bit per byte of hdr: received
	hdr        [FragKeepBytes]byte
}

// Reassembler rebuilds fragmented datagrams; see the comment at the top
// of this file. Use one per capture, from one goroutine, calling Add for
// every record in file order after Decode.
type Reassembler struct {
	lim   ReassemblyLimits
	st    ReassemblyStats
	seed  maphash.Seed
	slots []fragSlot // allocated at the first fragment
	index []int32    // open addressing over slots, -1 empty
	free  int32      // free list through fragSlot.next
	head  int32      // oldest datagram, -1 none
	tail  int32      // newest
	live  int
	held  uint64 // fragments in live slots
}

// NewReassembler returns an empty reassembler with limits l.
func NewReassembler(l ReassemblyLimits) *Reassembler {
	if l.TimeoutNS <= 0 {
		l.TimeoutNS = FragTimeoutNS
	}
	l.MaxDatagrams = max(l.MaxDatagrams, 0)
	return &Reassembler{lim: l, seed: maphash.MakeSeed(), free: -1, head: -1, tail: -1}
}

// Stats returns the counts so far; fragments still held are counted as
// Incomplete, so after the last record they describe the whole capture.
func (r *Reassembler) Stats() ReassemblyStats {
	s := r.st
	s.Incomplete = r.held
	return s
}

// Add takes the record rec and its packet p as Decode left it. A packet
// that is not a fragment passes unchanged. A fragment is held (its
// transport fields cleared, L4None) until its datagram is whole; the
// fragment that completes it becomes the reassembled packet: Reassembled
// set, FragEvasion the datagram's bits, transport fields decoded from the
// reassembled header, PayloadLen from the datagram's length.
func (r *Reassembler) Add(rec *Record, p *Packet) {
	if p.Frag == FragNone {
		if r.live > 0 {
			r.expire(p.Timestamp)
		}
		return
	}
	r.expire(p.Timestamp)
	clearTransport(p)
	f, ok := r.locate(rec, p)
	if !ok {
		r.st.Invalid++
		return
	}
	if r.lim.MaxDatagrams == 0 {
		r.st.DroppedLimit++
		return
	}
	if r.slots == nil {
		r.allocate()
	}
	k := f.key
	h := maphash.Comparable(r.seed, k)
	si, found := r.find(k, h)
	if !found {
		si = r.create(k, h, p.Timestamp)
	}
	s := &r.slots[si]
	if !s.fits(f) {
		r.st.Invalid++
		return
	}
	shape := s.write(f)
	switch shape {
	case shapeDuplicate:
		r.st.Duplicate++
	case shapeOverlap, shapeConflict:
		r.st.Overlapping++
		s.evasion |= FragOverlap
		if shape == shapeConflict {
			s.evasion |= FragConflict
		}
	}
	if !s.addRun(uint32(f.off), uint32(f.off+f.length)) {
		r.st.DroppedLimit += uint64(s.frags) + 1
		r.release(si)
		return
	}
	s.frags++
	r.held++
	if f.off == 0 {
		s.proto = f.proto
		if tinyFirst(f) {
			r.st.Tiny++
			s.evasion |= FragTiny
		}
	}
	if !f.more {
		s.total = int32(f.off + f.length)
	}
	if s.complete() {
		r.emit(si, p, f)
	}
}

// fragment is one fragment's place in its datagram.
type fragment struct {
	key    fragKey
	off    int    // byte offset of its data in the datagram's data
	length int    // data length per the IP header
	data   []byte // captured data (at most length bytes)
	more   bool   // MF / M flag
	proto  uint8  // IPv4 Protocol, or the IPv6 fragment header's Next Header
	hdrLen int    // bytes of IP header before the data (IPv6: with the fragment header)
	v6     bool
}

// locate reads fragment p's place from its record: the IP header Decode
// read the addresses from, at p.NetOffset (the innermost one when the
// fragment travelled in a tunnel, a mirror of a fragmented scan).
func (r *Reassembler) locate(rec *Record, p *Packet) (fragment, bool) {
	if rec == nil || p.NetOffset < 0 || int(p.NetOffset) >= len(rec.Data) {
		return fragment{}, false
	}
	nl := rec.Data[p.NetOffset:]
	var f fragment
	var ok bool
	switch p.L3 {
	case L3IPv4:
		f, ok = fragment4(nl)
	case L3IPv6:
		f, ok = fragment6(nl)
	}
	if !ok || f.key.src != p.Src.As16() || f.key.dst != p.Dst.As16() || !f.v6 && f.key.id != p.IPID {
		return fragment{}, false
	}
	// Decode keeps the identification of the last fragment header of a
	// chain; the first one is the datagram's (RFC 8200 §4.5: later ones
	// are part of its data).
	p.IPID = f.key.id
	end := f.off + f.length
	switch {
	case f.length <= 0: // an empty fragment adds nothing (Linux drops it too)
		return fragment{}, false
	case f.more && f.length%8 != 0: // RFC 8200 §4.5; RFC 791 §3.2
		return fragment{}, false
	case end+f.unfragmentable() > maxFragData:
		return fragment{}, false
	}
	return f, true
}

// unfragmentable is how many bytes of the reassembled packet's length
// field precede the data: the IPv4 header, or IPv6's extension headers
// before the fragment header (RFC 8200 §4.5).
func (f *fragment) unfragmentable() int {
	if f.v6 {
		return f.hdrLen - IPv6Len - ip6FragHdrLen
	}
	return f.hdrLen
}

func fragment4(b []byte) (fragment, bool) {
	ip, err := ParseIPv4(b)
	if err != nil {
		return fragment{}, false
	}
	f := fragment{
		key:    fragKey{src: ip.Source().As16(), dst: ip.Destination().As16(), id: uint32(ip.Identification()), proto: ip.Protocol()},
		off:    int(ip.FragmentOffset()) * 8,
		length: ip.Length() - ip.HeaderLen(),
		data:   ip.Payload(),
		more:   ip.MoreFragments(),
		proto:  ip.Protocol(),
		hdrLen: ip.HeaderLen(),
	}
	return f, true
}

// fragment6 walks the unfragmentable part of an IPv6 packet (hop-by-hop,
// routing and destination options, RFC 8200 §4.1) to its fragment header.
func fragment6(b []byte) (fragment, bool) {
	ip, err := ParseIPv6(b)
	if err != nil {
		return fragment{}, false
	}
	nh := ip.NextHeader()
	rest := ip.Payload()
	declared := ip.Length() - IPv6Len
	pos := IPv6Len
	for n := 0; n < MaxIPv6ExtHeaders; n++ {
		var hl int
		switch nh {
		case ip6ExtFragment:
			if len(rest) < ip6FragHdrLen {
				return fragment{}, false
			}
			f := fragment{
				key:    fragKey{src: ip.Source().As16(), dst: ip.Destination().As16(), id: binary.BigEndian.Uint32(rest[4:]), v6: true},
				off:    int(binary.BigEndian.Uint16(rest[2:]) &^ 7),
				length: declared - ip6FragHdrLen,
				data:   rest[ip6FragHdrLen:],
				more:   rest[3]&1 == 1,
				proto:  rest[0],
				hdrLen: pos + ip6FragHdrLen,
				v6:     true,
			}
			return f, true
		case ip6ExtHopByHop, ip6ExtRouting, ip6ExtDestOpts:
			if len(rest) < ip6ExtMinLen {
				return fragment{}, false
			}
			hl = (int(rest[1]) + 1) * 8
		default:
			return fragment{}, false
		}
		if len(rest) < hl {
			return fragment{}, false
		}
		nh, rest, declared, pos = rest[0], rest[hl:], declared-hl, pos+hl
	}
	return fragment{}, false
}

// tinyFirst reports whether first fragment f is proven shorter than its
// transport header: TCP's data offset (20 bytes at least), UDP's 8,
// ICMP's 8, SCTP's 12; for IPv6 after the extension headers that precede
// it, which RFC 7112 requires in the first fragment. A header the capture
// cut too soon to measure is not called tiny.
func tinyFirst(f fragment) bool {
	return f.length < headerNeed(f.proto, f.data, f.v6)
}

// headerNeed is how many bytes of a datagram's data reach the end of its
// transport header, read from b, its first captured bytes: exact when b
// holds what tells (the extension headers' lengths, TCP's data offset),
// else the least the headers can take.
func headerNeed(proto uint8, b []byte, v6 bool) int {
	off := 0
	for n := 0; v6 && n < MaxIPv6ExtHeaders && ip6Ext(proto); n++ {
		if len(b) < off+2 {
			return off + ip6ExtMinLen
		}
		hl := (int(b[off+1]) + 1) * 8 // RFC 8200 §4.3: 8-byte units beyond the first
		if proto == ip6ExtAH {
			hl = (int(b[off+1]) + 2) * 4 // RFC 4302 §2.2
		}
		if len(b) < off+hl {
			return off + hl
		}
		proto, off = b[off], off+hl
	}
	switch proto {
	case ipProtoTCP:
		if len(b) <= off+tcpOffset {
			return off + TCPMinLen
		}
		return off + max(int(b[off+tcpOffset]>>4)*4, TCPMinLen)
	case ipProtoUDP:
		return off + UDPLen
	case ipProtoICMP, ipProtoICMPv6:
		return off + ICMPLen
	case ipProtoSCTP:
		return off + sctpCommonLen
	}
	return off
}

// ip6Ext reports whether an IPv6 Next Header value names an extension
// header that may precede the transport header in a datagram's data.
func ip6Ext(nh uint8) bool {
	switch nh {
	case ip6ExtHopByHop, ip6ExtRouting, ip6ExtFragment, ip6ExtDestOpts, ip6ExtAH:
		return true
	}
	return false
}

// SCTP common header length (RFC 9260 §3.1): ports, verification tag, checksum.
const sctpCommonLen = 12

// fits checks a fragment against what its datagram already holds: a
// last fragment must not end before bytes already received nor disagree
// with an earlier last fragment, and no fragment may reach past a known
// end (RFC 791 §3.2; Linux's ip_frag_queue drops such fragments).
func (s *fragSlot) fits(f fragment) bool {
	end := int32(f.off + f.length)
	var maxEnd int32
	if s.nruns > 0 {
		maxEnd = int32(s.runs[s.nruns-1].hi)
	}
	if !f.more {
		return (s.total < 0 || s.total == end) && maxEnd <= end
	}
	return s.total < 0 || end <= s.total
}

// Shapes of a fragment against the bytes already held.
const (
	shapeNew       = iota // nothing of it was held
	shapeDuplicate        // all of it was held, with identical kept bytes
	shapeOverlap          // partly held, or held where its bytes are not kept
	shapeConflict         // held with different bytes
)

// write records f's kept bytes where none arrived before (the first bytes
// win) and says how f met the bytes already held.
func (s *fragSlot) write(f fragment) int {
	lo, hi := uint32(f.off), uint32(f.off+f.length)
	covered, within := false, false
	for _, run := range s.runs[:s.nruns] {
		if run.lo < hi && lo < run.hi {
			covered = true
			within = within || run.lo <= lo && hi <= run.hi
		}
	}
	conflict := false
	for i := f.off; i < min(f.off+len(f.data), FragKeepBytes); i++ {
		w, bit := i/64, uint64(1)<<(i%64)
		if s.known[w]&bit != 0 {
			conflict = conflict || s.hdr[i] != f.data[i-f.off]
			continue
		}
		s.hdr[i] = f.data[i-f.off]
		s.known[w] |= bit
	}
	switch {
	case conflict:
		return shapeConflict
	case !covered:
		return shapeNew
	case within:
		return shapeDuplicate
	}
	return shapeOverlap
}

// addRun adds [lo, hi) to the ranges received, merging those it touches;
// false when that would make more than maxFragRuns ranges.
func (s *fragSlot) addRun(lo, hi uint32) bool {
	n := int(s.nruns)
	i := 0
	for i < n && s.runs[i].hi < lo {
		i++
	}
	j := i
	for j < n && s.runs[j].lo <= hi {
		lo, hi = min(lo, s.runs[j].lo), max(hi, s.runs[j].hi)
		j++
	}
	if i == j {
		if n == maxFragRuns {
			return false
		}
		copy(s.runs[i+1:n+1], s.runs[i:n])
		n++
	} else {
		copy(s.runs[i+1:], s.runs[j:n])
		n -= j - i - 1
	}
	s.runs[i] = fragRun{lo, hi}
	s.nruns = uint8(n)
	return true
}

// complete reports whether every byte up to the known end arrived.
func (s *fragSlot) complete() bool {
	return s.total >= 0 && s.nruns == 1 && s.runs[0].lo == 0 && s.runs[0].hi == uint32(s.total)
}

// emit turns p, the fragment f that completed slot si, into the
// reassembled packet and frees the slot.
func (r *Reassembler) emit(si int32, p *Packet, f fragment) {
	s := &r.slots[si]
	total := int(s.total)
	known := 0
	for known < min(total, FragKeepBytes) && s.known[known/64]&(1<<(known%64)) != 0 {
		known++
	}
	hdr := s.hdr[:known]
	p.IPLen = f.hdrLen + total
	// The datagram is whole, so its payload is decoded as an unfragmented
	// one would be, a tunnel included (Decode enters none from a
	// fragment). A tunnel replaces p with the packet it carries: the
	// fragmentation was of the tunnel's packet, not of the probe inside,
	// which is then neither Reassembled nor a fragment.
	frag, depth := p.Frag, p.TunnelDepth
	p.Frag = FragNone
	if f.v6 {
		p.IPLen -= ip6FragHdrLen
		w := ip6Walk(s.proto, hdr, total)
		p.Proto = w.proto
		p.Anomalies |= w.anomalies
		if w.done && w.frag == FragNone {
			transportDecode(p, w.proto, w.rest, w.declared)
		}
	} else {
		transportDecode(p, s.proto, hdr, total)
	}
	if p.TunnelDepth == depth {
		p.Frag = frag
		p.Reassembled = true
		p.FragEvasion = s.evasion
	}
	r.st.DatagramsReassembled++
	r.st.Reassembled += uint64(s.frags)
	r.release(si)
}

// clearTransport empties the transport fields of a fragment that does
// not carry its whole transport header: every consumer reads them only
// with L4 set, and anomalies of a header it does not hold are not its.
func clearTransport(p *Packet) {
	p.Anomalies &^= AnomalyL4Truncated | AnomalyBadL4Header
	p.L4 = L4None
	p.SrcPort, p.DstPort, p.PayloadLen = 0, 0, 0
	p.TCPFlags, p.TCPReserved, p.TCPFlagsUnknown = 0, 0, false
	p.Seq, p.Ack, p.Window, p.DataOffset = 0, 0, 0, 0
	p.MSS, p.WScale, p.OptKinds, p.OptCount = 0, 0, 0, 0
	p.ICMPType, p.ICMPCode, p.ICMPID, p.ICMPSeq = 0, 0, 0, 0
	p.Quoted, p.QSrc, p.QDst, p.QProto = false, netip.Addr{}, netip.Addr{}, 0
	p.QSrcPort, p.QDstPort, p.QSeq, p.QHasPorts, p.QHasSeq = 0, 0, 0, false, false
}

// allocate makes the tables, once: MaxDatagrams slots on a free list and
// an index of twice as many entries (a power of two), at most half full.
func (r *Reassembler) allocate() {
	n := r.lim.MaxDatagrams
	r.slots = make([]fragSlot, n)
	for i := range r.slots {
		r.slots[i].next = int32(i) + 1
	}
	r.slots[n-1].next = -1
	r.free = 0
	size := 1
	for size < 2*n {
		size <<= 1
	}
	r.index = make([]int32, size)
	for i := range r.index {
		r.index[i] = -1
	}
}

// find returns the slot of k (hash h), probing linearly from its home.
func (r *Reassembler) find(k fragKey, h uint64) (int32, bool) {
	mask := uint64(len(r.index) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		si := r.index[i]
		if si < 0 {
			return -1, false
		}
		if r.slots[si].key == k {
			return si, true
		}
	}
}

// create takes a slot for k, dropping the oldest datagram when none is
// free, and links it as the newest.
func (r *Reassembler) create(k fragKey, h uint64, ts int64) int32 {
	if r.free < 0 {
		r.st.DroppedLimit += uint64(r.slots[r.head].frags)
		r.release(r.head)
	}
	si := r.free
	s := &r.slots[si]
	r.free = s.next
	mask := uint64(len(r.index) - 1)
	i := h & mask
	for r.index[i] >= 0 {
		i = (i + 1) & mask
	}
	r.index[i] = si
	*s = fragSlot{key: k, firstTS: ts, home: uint32(h & mask), prev: r.tail, next: -1, total: -1}
	if r.tail >= 0 {
		r.slots[r.tail].next = si
	} else {
		r.head = si
	}
	r.tail = si
	r.live++
	return si
}

// release frees slot si: out of the index (backward-shift deletion, so
// probes never cross a hole), out of the age list, onto the free list.
func (r *Reassembler) release(si int32) {
	s := &r.slots[si]
	mask := uint32(len(r.index) - 1)
	i := s.home
	for r.index[i] != si {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; r.index[j] >= 0; j = (j + 1) & mask {
		// The entry at j may move back to the hole at i unless its home
		// lies cyclically in (i, j].
		home := r.slots[r.index[j]].home
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			r.index[i] = r.index[j]
			i = j
		}
	}
	r.index[i] = -1
	if s.prev >= 0 {
		r.slots[s.prev].next = s.next
	} else {
		r.head = s.next
	}
	if s.next >= 0 {
		r.slots[s.next].prev = s.prev
	} else {
		r.tail = s.prev
	}
	r.held -= uint64(s.frags)
	r.live--
	s.next = r.free
	r.free = si
}

// expire gives up the datagrams whose first fragment is older than the
// timeout at capture time now, oldest first. Records without a
// timestamp (now 0) expire nothing.
func (r *Reassembler) expire(now int64) {
	if now == 0 {
		return
	}
	for r.head >= 0 {
		s := &r.slots[r.head]
		if now <= s.firstTS || uint64(now)-uint64(s.firstTS) <= uint64(r.lim.TimeoutNS) {
			return
		}
		r.st.TimedOut += uint64(s.frags)
		r.release(r.head)
	}
}
