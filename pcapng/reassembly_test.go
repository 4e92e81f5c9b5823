package pcapng

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

// Hand-built fragment sequences. The oracle for every reassembled packet
// is Decode of the same datagram sent whole: the reassembler must hand
// on exactly what the unfragmented datagram decodes to, but for the
// fields that describe the fragment (frame, time, lengths captured,
// Frag, Reassembled, FragEvasion).

var (
	fragSrc4 = netip.MustParseAddr("198.51.100.10")
	fragDst4 = netip.MustParseAddr("10.66.0.20")
	fragSrc6 = netip.MustParseAddr("fd00:99::10")
	fragDst6 = netip.MustParseAddr("fd00:66::20")
)

// synSegment is nmap's SYN probe: 33333 → port, seq 0x11223344, window
// 1024, one MSS 1460 option (a 24-byte header).
func synSegment(port uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, 33333)
	b = binary.BigEndian.AppendUint16(b, port)
	b = binary.BigEndian.AppendUint32(b, 0x11223344)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, 6<<4, byte(TCPFlagSYN), 0x04, 0x00, 0, 0, 0, 0)
	return append(b, 2, 4, 0x05, 0xb4)
}

// udpDatagram is a UDP datagram of n payload bytes to port.
func udpDatagram(port uint16, n int) []byte {
	b := binary.BigEndian.AppendUint16(nil, 40000)
	b = binary.BigEndian.AppendUint16(b, port)
	b = binary.BigEndian.AppendUint16(b, uint16(UDPLen+n))
	b = binary.BigEndian.AppendUint16(b, 0)
	for i := range n {
		b = append(b, byte(i))
	}
	return b
}

// ip4 builds an IPv4 packet carrying data[off:off+n] of a datagram with
// identification id; whole is a datagram that is not fragmented.
func ip4(id uint16, proto uint8, data []byte, off, n int, more bool) []byte {
	hl := IPv4MinLen
	b := []byte{0x45, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(hl+n))
	b = binary.BigEndian.AppendUint16(b, id)
	fo := uint16(off / 8)
	if more {
		fo |= ip4FlagMF
	}
	b = binary.BigEndian.AppendUint16(b, fo)
	b = append(b, 59, proto, 0, 0)
	b = append(b, fragSrc4.AsSlice()...)
	b = append(b, fragDst4.AsSlice()...)
	return append(b, data[off:off+n]...)
}

func whole4(id uint16, proto uint8, data []byte) []byte {
	return ip4(id, proto, data, 0, len(data), false)
}

// ip6 builds an IPv6 packet with a fragment header carrying
// data[off:off+n]; nh is the fragment header's Next Header.
func ip6(id uint32, nh uint8, data []byte, off, n int, more bool) []byte {
	b := []byte{0x60, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(ip6FragHdrLen+n))
	b = append(b, ip6ExtFragment, 64)
	b = append(b, fragSrc6.AsSlice()...)
	b = append(b, fragDst6.AsSlice()...)
	fo := uint16(off)
	if more {
		fo |= 1
	}
	b = append(b, nh, 0)
	b = binary.BigEndian.AppendUint16(b, fo)
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, data[off:off+n]...)
}

// whole6 is the same datagram not fragmented.
func whole6(nh uint8, data []byte) []byte {
	b := []byte{0x60, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	b = append(b, nh, 64)
	b = append(b, fragSrc6.AsSlice()...)
	b = append(b, fragDst6.AsSlice()...)
	return append(b, data...)
}

// fragFeed feeds packets (raw IP, one per frame, 1 µs apart from t0 unless
// ts says otherwise) through Decode and r, and returns what came out.
type fragFeed struct {
	r    *Reassembler
	out  []Packet
	n    uint64
	t0   int64
	seen uint64 // fragments fed
}

func newFragFeed(l ReassemblyLimits) *fragFeed {
	return &fragFeed{r: NewReassembler(l), t0: 1_773_480_413_000_000_000}
}

func (fr *fragFeed) feedAt(ts int64, data []byte) *Packet {
	fr.n++
	rec := Record{Frame: fr.n, LinkType: LinkRaw, Timestamp: ts, Precision: 6, CapLen: len(data), OrigLen: len(data), Data: data}
	var p Packet
	Decode(&rec, &p)
	if p.Frag != FragNone {
		fr.seen++
	}
	fr.r.Add(&rec, &p)
	fr.out = append(fr.out, p)
	return &fr.out[len(fr.out)-1]
}

func (fr *fragFeed) feed(data ...[]byte) {
	for _, d := range data {
		fr.feedAt(fr.t0+int64(fr.n)*1000, d)
	}
}

// reassembled returns the packets marked Reassembled.
func (fr *fragFeed) reassembled() []Packet {
	var out []Packet
	for _, p := range fr.out {
		if p.Reassembled {
			out = append(out, p)
		}
	}
	return out
}

// check verifies the invariants of every sequence: each fragment is
// counted in exactly one outcome, and no fragment that was not the
// completing one carries a transport header.
func (fr *fragFeed) check(t *testing.T) ReassemblyStats {
	t.Helper()
	st := fr.r.Stats()
	if sum := st.Reassembled + st.TimedOut + st.Incomplete + st.DroppedLimit + st.Invalid; sum != fr.seen {
		t.Errorf("outcomes add up to %d (%+v), %d fragments fed", sum, st, fr.seen)
	}
	for _, p := range fr.out {
		if p.Frag != FragNone && !p.Reassembled && p.L4 != L4None {
			t.Errorf("frame %d: a held fragment with L4 %d (flags %s)", p.Frame, p.L4, FlagString(p.TCPFlags))
		}
	}
	return st
}

// sameAsWhole compares a reassembled packet with Decode of the whole
// datagram, but for the fields that describe the fragment itself.
func sameAsWhole(t *testing.T, got Packet, whole []byte) {
	t.Helper()
	rec := Record{LinkType: LinkRaw, CapLen: len(whole), OrigLen: len(whole), Data: whole}
	var want Packet
	Decode(&rec, &want)
	got.Frame, got.Timestamp, got.Precision, got.CapLen, got.OrigLen = want.Frame, want.Timestamp, want.Precision, want.CapLen, want.OrigLen
	got.Frag, got.Reassembled, got.FragEvasion = want.Frag, want.Reassembled, want.FragEvasion
	got.IPID = want.IPID           // an IPv6 datagram sent whole has no fragment identification
	got.NetOffset = want.NetOffset // where the fragment's header began, or -1 for a tunnel entered from reassembled bytes
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reassembled\n %+v\nwant (Decode of the whole datagram)\n %+v", got, want)
	}
}

// cuts are fragments as (offset, length) of a datagram's data; the last
// one is the last fragment.
type cut struct{ off, n int }

func frags4(id uint16, proto uint8, data []byte, cuts ...cut) [][]byte {
	var out [][]byte
	for _, c := range cuts {
		out = append(out, ip4(id, proto, data, c.off, c.n, c.off+c.n < len(data)))
	}
	return out
}

func TestReassembleIPv4(t *testing.T) {
	syn := synSegment(80)
	eight := []cut{{0, 8}, {8, 8}, {16, 8}} // nmap -f
	tests := []struct {
		name      string
		order     []int
		cuts      []cut
		completes int // index into order of the fragment that completes
		evasion   uint8
	}{
		{"in order (nmap -f)", []int{0, 1, 2}, eight, 2, FragTiny},
		{"reverse", []int{2, 1, 0}, eight, 2, FragTiny},
		{"middle first", []int{1, 2, 0}, eight, 2, FragTiny},
		{"mtu 16 (nmap --mtu 16)", []int{0, 1}, []cut{{0, 16}, {16, 8}}, 1, FragTiny},
		{"last first", []int{1, 0}, []cut{{0, 16}, {16, 8}}, 1, FragTiny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cuts := tc.cuts
			fs := frags4(0xabcd, 6, syn, cuts...)
			fr := newFragFeed(DefaultReassemblyLimits())
			for _, i := range tc.order {
				fr.feed(fs[i])
			}
			st := fr.check(t)
			got := fr.reassembled()
			if len(got) != 1 {
				t.Fatalf("%d reassembled packets, want 1 (%+v)", len(got), st)
			}
			p := got[0]
			if p.Frame != uint64(tc.completes+1) {
				t.Errorf("reassembled at frame %d, want %d (the fragment that completed it)", p.Frame, tc.completes+1)
			}
			if p.Timestamp != fr.out[tc.completes].Timestamp {
				t.Errorf("timestamp %d, want the completing fragment's %d", p.Timestamp, fr.out[tc.completes].Timestamp)
			}
			if p.FragEvasion != tc.evasion {
				t.Errorf("FragEvasion %b, want %b", p.FragEvasion, tc.evasion)
			}
			sameAsWhole(t, p, whole4(0xabcd, 6, syn))
			want := ReassemblyStats{DatagramsReassembled: 1, Reassembled: uint64(len(cuts))}
			if tc.evasion&FragTiny != 0 {
				want.Tiny = 1
			}
			if st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
		})
	}
	t.Run("first fragment holds the whole header", func(t *testing.T) {
		seg := append(synSegment(80), "payload!"...)
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feed(frags4(1, 6, seg, cut{0, 24}, cut{24, 8})...)
		st := fr.check(t)
		got := fr.reassembled()
		if len(got) != 1 || got[0].FragEvasion != 0 || st.Tiny != 0 || got[0].PayloadLen != 8 {
			t.Fatalf("got %+v, %+v", got, st)
		}
		sameAsWhole(t, got[0], whole4(1, 6, seg))
	})
}

func TestReassembleUDPAndICMP(t *testing.T) {
	t.Run("udp 200 bytes in 3", func(t *testing.T) {
		d := udpDatagram(53, 200)
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feed(frags4(7, 17, d, cut{0, 80}, cut{80, 80}, cut{160, 48})...)
		fr.check(t)
		got := fr.reassembled()
		if len(got) != 1 || got[0].Frame != 3 || got[0].PayloadLen != 200 {
			t.Fatalf("got %+v", got)
		}
		sameAsWhole(t, got[0], whole4(7, 17, d))
	})
	t.Run("icmp echo 3000 bytes", func(t *testing.T) {
		d := append([]byte{8, 0, 0, 0, 0x12, 0x34, 0, 1}, make([]byte, 2992)...)
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feed(frags4(9, 1, d, cut{0, 1480}, cut{1480, 1480}, cut{2960, 40})...)
		fr.check(t)
		got := fr.reassembled()
		if len(got) != 1 || got[0].L4 != L4ICMP || got[0].ICMPID != 0x1234 {
			t.Fatalf("got %+v", got)
		}
		sameAsWhole(t, got[0], whole4(9, 1, d))
	})
	t.Run("icmp error quoting a probe, split after 16 bytes", func(t *testing.T) {
		quote := whole4(0x77, 6, synSegment(443))[:28]
		d := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, quote...)
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feed(frags4(10, 1, d, cut{0, 16}, cut{16, 20})...)
		fr.check(t)
		got := fr.reassembled()
		if len(got) != 1 || !got[0].Quoted || got[0].QDstPort != 443 {
			t.Fatalf("got %+v", got)
		}
		sameAsWhole(t, got[0], whole4(10, 1, d))
	})
}

func TestReassembleIPv6(t *testing.T) {
	syn := synSegment(22)
	t.Run("syn in 8-byte fragments", func(t *testing.T) {
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feed(ip6(0xdeadbeef, 6, syn, 0, 8, true), ip6(0xdeadbeef, 6, syn, 8, 8, true), ip6(0xdeadbeef, 6, syn, 16, 8, false))
		st := fr.check(t)
		got := fr.reassembled()
		if len(got) != 1 || got[0].Frame != 3 || got[0].FragEvasion != FragTiny || st.Tiny != 1 {
			t.Fatalf("got %+v, %+v", got, st)
		}
		sameAsWhole(t, got[0], whole6(6, syn))
	})
	t.Run("destination options in the fragmentable part", func(t *testing.T) {
		data := append([]byte{6, 0, 1, 4, 0, 0, 0, 0}, syn...) // dest-opts (PadN), then TCP
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feed(ip6(5, ip6ExtDestOpts, data, 16, 16, false), ip6(5, ip6ExtDestOpts, data, 0, 16, true))
		st := fr.check(t)
		got := fr.reassembled()
		if len(got) != 1 || got[0].Frame != 2 || got[0].Proto != 6 || st.Tiny != 1 {
			t.Fatalf("got %+v, %+v", got, st)
		}
		sameAsWhole(t, got[0], whole6(ip6ExtDestOpts, data))
	})
	t.Run("same identification from another source is another datagram", func(t *testing.T) {
		fr := newFragFeed(DefaultReassemblyLimits())
		other := ip6(1, 6, syn, 0, 16, true)
		copy(other[8:24], fragDst6.AsSlice()) // source rewritten
		fr.feed(other, ip6(1, 6, syn, 16, 8, false))
		st := fr.check(t)
		if len(fr.reassembled()) != 0 || st.Incomplete != 2 {
			t.Fatalf("reassembled across sources: %+v", st)
		}
	})
}

// TestReassembleOverlap checks the first-wins policy and its counts: the
// flags byte (offset 13) sent twice, SYN first then FIN, and the other
// way round; a duplicate fragment; an overlap with equal bytes. A first
// fragment of 16 bytes is tiny too: the header with its MSS option is 24.
func TestReassembleOverlap(t *testing.T) {
	syn := synSegment(80)
	fin := synSegment(80)
	fin[13] = byte(TCPFlagFIN)
	tests := []struct {
		name      string
		pkts      [][]byte
		flags     uint16
		evasion   uint8
		overlaps  uint64
		dups      uint64
		completes uint64
	}{
		{"syn then fin over the flags", [][]byte{ip4(1, 6, syn, 0, 16, true), ip4(1, 6, fin, 8, 16, false)},
			TCPFlagSYN, FragOverlap | FragConflict | FragTiny, 1, 0, 2},
		{"fin then syn over the flags", [][]byte{ip4(1, 6, fin, 8, 16, false), ip4(1, 6, syn, 0, 16, true)},
			TCPFlagFIN, FragOverlap | FragConflict | FragTiny, 1, 0, 2},
		{"duplicate fragment", [][]byte{ip4(1, 6, syn, 0, 8, true), ip4(1, 6, syn, 0, 8, true), ip4(1, 6, syn, 8, 16, false)},
			TCPFlagSYN, FragTiny, 0, 1, 3},
		{"overlap with equal bytes", [][]byte{ip4(1, 6, syn, 0, 16, true), ip4(1, 6, syn, 8, 16, false)},
			TCPFlagSYN, FragOverlap | FragTiny, 1, 0, 2},
		{"last fragment twice", [][]byte{ip4(1, 6, syn, 16, 8, false), ip4(1, 6, syn, 16, 8, false), ip4(1, 6, syn, 0, 16, true)},
			TCPFlagSYN, FragTiny, 0, 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := newFragFeed(DefaultReassemblyLimits())
			fr.feed(tc.pkts...)
			st := fr.check(t)
			got := fr.reassembled()
			if len(got) != 1 {
				t.Fatalf("%d reassembled, want 1 (%+v)", len(got), st)
			}
			p := got[0]
			if p.TCPFlags != tc.flags || p.FragEvasion != tc.evasion || p.Frame != tc.completes {
				t.Errorf("flags %s evasion %b frame %d, want %s %b %d", FlagString(p.TCPFlags), p.FragEvasion, p.Frame,
					FlagString(tc.flags), tc.evasion, tc.completes)
			}
			if st.Overlapping != tc.overlaps || st.Duplicate != tc.dups || st.Reassembled != uint64(len(tc.pkts)) {
				t.Errorf("stats %+v, want %d overlapping, %d duplicate, %d reassembled", st, tc.overlaps, tc.dups, len(tc.pkts))
			}
		})
	}
}

// TestReassembleDrops covers every way a fragment is not reassembled.
func TestReassembleDrops(t *testing.T) {
	syn := synSegment(80)
	sec := int64(1_000_000_000)
	t.Run("missing piece times out", func(t *testing.T) {
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feedAt(fr.t0, ip4(1, 6, syn, 0, 8, true))
		fr.feedAt(fr.t0+sec, ip4(1, 6, syn, 16, 8, false))
		fr.feedAt(fr.t0+60*sec, whole4(2, 6, syn)) // 60 s: still waiting
		if st := fr.r.Stats(); st.TimedOut != 0 || st.Incomplete != 2 {
			t.Fatalf("at 60 s: %+v", st)
		}
		fr.feedAt(fr.t0+60*sec+1, whole4(3, 6, syn)) // past 60 s after the first fragment
		// The missing piece, too late: it starts a datagram of its own.
		fr.feedAt(fr.t0+61*sec, ip4(1, 6, syn, 8, 8, true))
		st := fr.check(t)
		if st.TimedOut != 2 || st.Incomplete != 1 || len(fr.reassembled()) != 0 {
			t.Fatalf("%+v, %d reassembled", st, len(fr.reassembled()))
		}
	})
	t.Run("invalid fragments", func(t *testing.T) {
		fr := newFragFeed(DefaultReassemblyLimits())
		fr.feed(
			ip4(1, 6, append(syn, 0, 0, 0), 0, 12, true),             // MF with 12 bytes: not a multiple of 8
			ip4(2, 6, make([]byte, 65528+16), 65528, 16, false),      // ends past 65,535 (ping of death)
			ip4(3, 6, syn, 8, 0, true),                               // empty
			ip4(4, 6, syn, 16, 8, false),                             // last fragment: the datagram ends at 24
			ip4(4, 6, append(syn, make([]byte, 8)...), 24, 8, false), // ... no, at 32
			ip4(4, 6, append(syn, make([]byte, 8)...), 24, 8, true),  // ... a fragment past the end
			ip4(4, 6, syn, 0, 16, true),                              // completes the datagram of 24 bytes
		)
		st := fr.check(t)
		if st.Invalid != 5 || st.DatagramsReassembled != 1 || st.Reassembled != 2 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("full table drops the oldest", func(t *testing.T) {
		fr := newFragFeed(ReassemblyLimits{MaxDatagrams: 2})
		fr.feed(ip4(1, 6, syn, 0, 16, true), ip4(2, 6, syn, 0, 16, true), ip4(3, 6, syn, 0, 16, true),
			ip4(3, 6, syn, 16, 8, false), ip4(2, 6, syn, 16, 8, false), ip4(1, 6, syn, 16, 8, false))
		st := fr.check(t)
		if st.DroppedLimit != 1 || st.DatagramsReassembled != 2 || st.Incomplete != 1 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("scattered into more than 16 pieces", func(t *testing.T) {
		d := make([]byte, 8*40)
		fr := newFragFeed(DefaultReassemblyLimits())
		for i := 0; i < 40; i += 2 { // every other 8 bytes: 17 holes by the 17th
			fr.feed(ip4(1, 17, d, i*8, 8, true))
		}
		st := fr.check(t)
		if st.DroppedLimit != 17 || st.Incomplete != 3 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("reassembly off", func(t *testing.T) {
		fr := newFragFeed(ReassemblyLimits{})
		fr.feed(frags4(1, 6, syn, cut{0, 8}, cut{8, 16})...)
		st := fr.check(t)
		if st.DroppedLimit != 2 || len(fr.reassembled()) != 0 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("snaplen cut inside the header", func(t *testing.T) {
		// The first fragment is captured up to 8 bytes of TCP only: the
		// datagram completes, but its flags were never captured.
		fr := newFragFeed(DefaultReassemblyLimits())
		f := ip4(1, 6, syn, 0, 16, true)
		rec := Record{Frame: 1, LinkType: LinkRaw, Timestamp: fr.t0, CapLen: 28, OrigLen: len(f), Data: f[:28]}
		var p Packet
		Decode(&rec, &p)
		fr.seen++
		fr.r.Add(&rec, &p)
		fr.out = append(fr.out, p)
		fr.feed(ip4(1, 6, syn, 16, 8, false))
		fr.check(t)
		got := fr.reassembled()
		if len(got) != 1 || got[0].L4 != L4TCP || !got[0].TCPFlagsUnknown || got[0].DstPort != 80 {
			t.Fatalf("got %+v", got)
		}
	})
}

// TestReassemblyAllocs: once the tables exist, reassembling a datagram
// and passing other packets allocate nothing.
func TestReassemblyAllocs(t *testing.T) {
	syn := synSegment(80)
	var frags [][]Record
	for id := range 64 {
		var rs []Record
		for _, d := range frags4(uint16(id), 6, syn, cut{0, 8}, cut{8, 8}, cut{16, 8}) {
			rs = append(rs, Record{LinkType: LinkRaw, CapLen: len(d), OrigLen: len(d), Data: d})
		}
		frags = append(frags, rs)
	}
	plain := whole4(1, 6, syn)
	plainRec := Record{LinkType: LinkRaw, CapLen: len(plain), OrigLen: len(plain), Data: plain}
	r := NewReassembler(DefaultReassemblyLimits())
	var p Packet
	i := 0
	step := func() {
		for j := range frags[i%len(frags)] {
			rec := &frags[i%len(frags)][j]
			rec.Timestamp = int64(i+1) * 1000
			Decode(rec, &p)
			r.Add(rec, &p)
		}
		plainRec.Timestamp = int64(i+1) * 1000
		Decode(&plainRec, &p)
		r.Add(&plainRec, &p)
		i++
	}
	step() // allocates the tables
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocations per datagram", n)
	}
	if st := r.Stats(); st.DatagramsReassembled != 1001+1 || st.Incomplete != 0 {
		// AllocsPerRun runs step once more to warm up.
		t.Errorf("stats %+v", st)
	}
}

func TestReassemblySlotBytes(t *testing.T) {
	slot := reflect.TypeOf(fragSlot{}).Size()
	// The index has fewer than 4 entries per slot (a power of two below 4n).
	if got := int(slot) + 4*4; got > ReassemblySlotBytes {
		t.Errorf("a slot takes up to %d bytes, ReassemblySlotBytes says %d", got, ReassemblySlotBytes)
	}
	for _, n := range []int{1, 2, 3, 5000, MaxReassemblies} {
		r := NewReassembler(ReassemblyLimits{MaxDatagrams: n})
		r.allocate()
		if got := int64(len(r.slots))*int64(slot) + int64(len(r.index))*4; got > r.lim.Bytes() {
			t.Errorf("%d slots hold %d bytes, Bytes() says %d", n, got, r.lim.Bytes())
		}
	}
	if l := ReassemblyLimitsFor(512 << 20); l.MaxDatagrams != MaxReassemblies || l.Bytes() > 512<<20/reassemblyBudgetShare {
		t.Errorf("default budget: %+v", l)
	}
	if l := ReassemblyLimitsFor(1 << 20); l.Bytes() > 1<<20/reassemblyBudgetShare || l.MaxDatagrams < 1 {
		t.Errorf("1 MiB budget: %+v (%d bytes)", l, l.Bytes())
	}
}

func ExampleReassembler() {
	// nmap -f: a SYN in three 8-byte fragments, raw IPv4.
	r := NewReassembler(DefaultReassemblyLimits())
	syn := synSegment(80)
	for i, d := range frags4(0x4d2, 6, syn, cut{0, 8}, cut{8, 8}, cut{16, 8}) {
		rec := Record{Frame: uint64(i + 1), LinkType: LinkRaw, Timestamp: int64(i+1) * 1000, CapLen: len(d), OrigLen: len(d), Data: d}
		var p Packet
		Decode(&rec, &p)
		r.Add(&rec, &p)
		fmt.Printf("frame %d: reassembled=%v l4=%d flags=%q dport=%d\n", p.Frame, p.Reassembled, p.L4, FlagString(p.TCPFlags), p.DstPort)
	}
	fmt.Printf("%+v\n", r.Stats())
	// Output:
	// frame 1: reassembled=false l4=0 flags="" dport=0
	// frame 2: reassembled=false l4=0 flags="" dport=0
	// frame 3: reassembled=true l4=1 flags="S" dport=80
	// {DatagramsReassembled:1 Reassembled:3 TimedOut:0 Incomplete:0 DroppedLimit:0 Invalid:0 Overlapping:0 Duplicate:0 Tiny:1}
}

// BenchmarkReassemblerPassThrough is the cost reassembly adds to a
// capture without fragments, the common case: Decode alone and Decode
// then Reassembler.Add over the same 100k SYN frames (benchPCAP's).
func BenchmarkReassemblerPassThrough(b *testing.B) {
	recs := make([]Record, 1000)
	for i := range recs {
		d := benchFrame(i)
		recs[i] = Record{LinkType: LinkEthernet, Timestamp: int64(i) * 1000, CapLen: len(d), OrigLen: len(d), Data: d}
	}
	run := func(b *testing.B, reassemble bool) {
		r := NewReassembler(DefaultReassemblyLimits())
		var p Packet
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			rec := &recs[i%len(recs)]
			Decode(rec, &p)
			if reassemble {
				r.Add(rec, &p)
			}
			i++
		}
	}
	b.Run("decode", func(b *testing.B) { run(b, false) })
	b.Run("decode+reassembler", func(b *testing.B) { run(b, true) })
}

// TestReassembleTunnel: a tunnel packet split by the network (an
// IP-in-IP packet cut into two fragments) is entered once whole, as
// Decode enters it unfragmented; the probe it carries was not fragmented
// by its sender, so it is not marked Reassembled.
func TestReassembleTunnel(t *testing.T) {
	inner := whole4(7, ipProtoTCP, synSegment(80))
	fr := newFragFeed(DefaultReassemblyLimits())
	fr.feed(frags4(9, ipProtoIPIP, inner, cut{0, 24}, cut{24, len(inner) - 24})...)
	fr.check(t)
	last := fr.out[len(fr.out)-1]
	if last.TunnelDepth != 1 || last.TunnelLayer(0) != TunnelIPIP || last.L4 != L4TCP || last.DstPort != 80 || last.TCPFlags != TCPFlagSYN {
		t.Fatalf("completing fragment: depth %d, L4 %d, port %d, flags %s; want the SYN to 80 inside one IP-in-IP tunnel",
			last.TunnelDepth, last.L4, last.DstPort, FlagString(last.TCPFlags))
	}
	if last.Reassembled || last.FragEvasion != 0 {
		t.Errorf("the carried probe is marked Reassembled=%v evasion=%d; the fragmentation was the tunnel's", last.Reassembled, last.FragEvasion)
	}
	if st := fr.r.Stats(); st.DatagramsReassembled != 1 || st.Reassembled != 2 {
		t.Errorf("stats %+v, want one datagram of two fragments", st)
	}
	sameAsWhole(t, last, whole4(9, ipProtoIPIP, inner))
}

// TestReassembleInsideTunnel: nmap -f seen through a mirror or a tunnel.
// Each fragment travels whole in its own IP-in-IP packet between tunnel
// endpoints of other addresses; the fragments are those of the packet
// inside, keyed by its addresses, and rebuild into the SYN they split.
func TestReassembleInsideTunnel(t *testing.T) {
	outer := func(id uint16, inner []byte) []byte {
		b := []byte{0x45, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(IPv4MinLen+len(inner)))
		b = binary.BigEndian.AppendUint16(b, id)
		b = append(b, 0, 0, 64, ipProtoIPIP, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2)
		return append(b, inner...)
	}
	syn := synSegment(443)
	var pkts [][]byte
	for i, f := range frags4(77, ipProtoTCP, syn, cut{0, 8}, cut{8, 8}, cut{16, len(syn) - 16}) {
		pkts = append(pkts, outer(uint16(100+i), f))
	}
	fr := newFragFeed(DefaultReassemblyLimits())
	fr.feed(pkts...)
	st := fr.check(t)
	got := fr.reassembled()
	if st.DatagramsReassembled != 1 || st.Reassembled != 3 || st.Invalid != 0 || len(got) != 1 {
		t.Fatalf("stats %+v, %d reassembled; want one datagram of three fragments", st, len(got))
	}
	p := got[0]
	if p.TunnelDepth != 1 || p.OuterSrc.String() != "192.0.2.1" || p.Src != fragSrc4 || p.L4 != L4TCP || p.DstPort != 443 ||
		p.TCPFlags != TCPFlagSYN || p.TCPFlagsUnknown {
		t.Errorf("reassembled %+v; want the SYN to 443 from %s inside one tunnel from 192.0.2.1", p, fragSrc4)
	}
}
