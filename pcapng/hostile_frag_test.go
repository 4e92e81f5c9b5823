package pcapng

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"porthunter/internal/race"
)

// floodScale divides the hostile fragment floods under the race detector,
// which makes each packet about 50 times as slow: a million fragments
// would take a minute.
const floodScale = race.Slowdown

// Hostile fragment sequences for the Reassembler, in the battery's terms
// (hostile_test.go): each case reads its packets through Decode and a
// Reassembler with the default limits, as the product does, and checks
// the exact counts, bounded time (hostileDeadline) and bounded memory:
// what the read allocates stays within the reassembler's tables
// (ReassemblyLimits.Bytes) plus hostileBaseAlloc, whatever the number of
// fragments.

// fragFlood is one case: n packets, each one of a few prebuilt
// templates patched in place (the IP identification, protocol or offset),
// so the read itself allocates nothing of its own.
type fragFlood struct {
	name string
	n    int
	tmpl [][]byte                               // raw IPv4 fragments
	pkt  func(i int, tmpl [][]byte) []byte      // the i-th packet: a patched template
	ts   func(i int) int64                      // its timestamp
	want func(t *testing.T, st ReassemblyStats) // the counts
}

const floodT0 = int64(1_773_480_413_000_000_000)

// floodRun reads c and returns the stats, the bytes allocated and the time.
func floodRun(c fragFlood, r *Reassembler) (ReassemblyStats, uint64, time.Duration) {
	var p Packet
	rec := Record{LinkType: LinkRaw}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range c.n {
		d := c.pkt(i, c.tmpl)
		rec.Frame, rec.Timestamp, rec.Data, rec.CapLen, rec.OrigLen = uint64(i+1), c.ts(i), d, len(d), len(d)
		Decode(&rec, &p)
		r.Add(&rec, &p)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return r.Stats(), after.TotalAlloc - before.TotalAlloc, elapsed
}

// setID, setSrcByte (the source address's last byte) and setFrag patch
// an IPv4 header in place.
func setID(d []byte, id uint16) []byte   { binary.BigEndian.PutUint16(d[ip4ID:], id); return d }
func setSrcByte(d []byte, b byte) []byte { d[ip4Src+3] = b; return d }
func setFrag(d []byte, units int, more bool) []byte {
	v := uint16(units)
	if more {
		v |= ip4FlagMF
	}
	binary.BigEndian.PutUint16(d[ip4Frag:], v)
	return d
}

func hostileFragCases() []fragFlood {
	syn := synSegment(80)
	const million, hundredK = 1_000_000 / floodScale, 100_000 / floodScale
	micro := func(i int) int64 { return floodT0 + int64(i)*1000 }
	// Each case patches its own templates.
	first := func() [][]byte { return [][]byte{ip4(0, 6, syn, 0, 8, true)} }
	rewrite := synSegment(80)
	return []fragFlood{
		{
			// A million first fragments, each of its own datagram (the IP
			// ID and the source's last byte spread them), none completed,
			// a microsecond apart: the table stays full, the oldest go.
			name: "1M distinct datagrams never completed",
			n:    million,
			tmpl: first(),
			pkt:  func(i int, t [][]byte) []byte { return setSrcByte(setID(t[0], uint16(i)), byte(i>>16)) },
			ts:   micro,
			want: func(t *testing.T, st ReassemblyStats) {
				if st.DroppedLimit != million-MaxReassemblies || st.Incomplete != MaxReassemblies || st.Tiny != million {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			// The same flood a second apart in capture time: 61 of them
			// are open at a time and the rest time out.
			name: "a datagram a second, never completed",
			n:    10_000,
			tmpl: first(),
			pkt:  func(i int, t [][]byte) []byte { return setID(t[0], uint16(i)) },
			ts:   func(i int) int64 { return floodT0 + int64(i)*1_000_000_000 },
			want: func(t *testing.T, st ReassemblyStats) {
				if st.TimedOut != 10_000-61 || st.Incomplete != 61 || st.DroppedLimit != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			// One datagram trickled: a fragment every 59 s never extends
			// its time, so it is given up 60 s after its first fragment
			// and the next fragment starts it again.
			name: "a trickle that would hold a slot forever",
			n:    1000,
			tmpl: [][]byte{ip4(1, 17, make([]byte, 16), 8, 8, true)},
			pkt:  func(i int, t [][]byte) []byte { return setFrag(t[0], i+1, true) },
			ts:   func(i int) int64 { return floodT0 + int64(i)*59_000_000_000 },
			want: func(t *testing.T, st ReassemblyStats) {
				if st.TimedOut != 998 || st.Incomplete != 2 || st.DatagramsReassembled != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			// A million copies of one fragment: one datagram held, every
			// copy a duplicate.
			name: "1M duplicates",
			n:    million,
			tmpl: first(),
			pkt:  func(i int, t [][]byte) []byte { return setID(t[0], 7) },
			ts:   micro,
			want: func(t *testing.T, st ReassemblyStats) {
				if st.Duplicate != million-1 || st.Incomplete != million || st.Overlapping != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			// 100k rewrites of the flags byte, then the end: one datagram
			// held (its offset-0 fragment never comes), every rewrite with
			// different bytes counted as overlapping, the equal ones as
			// duplicates.
			name: "100k rewrites of one header's flags",
			n:    hundredK + 1,
			tmpl: [][]byte{ip4(9, 6, rewrite, 8, 8, true), ip4(9, 6, syn, 16, 8, false)},
			pkt: func(i int, t [][]byte) []byte {
				if i == hundredK {
					return t[1]
				}
				t[0][IPv4MinLen+tcpFlags-8] = byte(i)
				return t[0]
			},
			ts: micro,
			want: func(t *testing.T, st ReassemblyStats) {
				rewrites := uint64(hundredK - 1)
				if st.Overlapping != rewrites-rewrites/256 || st.Duplicate != rewrites/256 || st.Incomplete != hundredK+1 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			// Every other 8 bytes of datagrams in 20 pieces: each is
			// dropped at its 17th hole, its last 3 pieces start anew.
			name: "scattered pieces",
			n:    hundredK,
			tmpl: [][]byte{ip4(0, 17, make([]byte, 16), 0, 8, true)},
			pkt:  func(i int, t [][]byte) []byte { return setFrag(setID(t[0], uint16(i/20)), (i%20)*2, true) },
			ts:   micro,
			want: func(t *testing.T, st ReassemblyStats) {
				if st.DroppedLimit != hundredK/20*17 || st.Incomplete != hundredK/20*3 {
					t.Errorf("%+v", st)
				}
			},
		},
		{
			// Fragments that cannot be: past 65,535 bytes (ping of death),
			// not a multiple of 8, empty.
			name: "invalid fragments",
			n:    3 * hundredK,
			tmpl: [][]byte{
				ip4(0, 17, make([]byte, 65528+16), 65528, 16, false),
				ip4(0, 6, append(synSegment(80), 1, 2, 3), 0, 12, true),
				ip4(0, 6, syn, 8, 0, true),
			},
			pkt: func(i int, t [][]byte) []byte { return setID(t[i%3], uint16(i)) },
			ts:  micro,
			want: func(t *testing.T, st ReassemblyStats) {
				if st.Invalid != 3*hundredK || st.Incomplete != 0 {
					t.Errorf("%+v", st)
				}
			},
		},
	}
}

func TestHostileFragments(t *testing.T) {
	for _, c := range hostileFragCases() {
		t.Run(c.name, func(t *testing.T) {
			r := NewReassembler(DefaultReassemblyLimits())
			done := make(chan struct{})
			var st ReassemblyStats
			var alloc uint64
			var elapsed time.Duration
			go func() {
				defer close(done)
				st, alloc, elapsed = floodRun(c, r)
			}()
			select {
			case <-done:
			case <-time.After(hostileDeadline):
				<-done // the case's packets are its own, but its stats are read below
				t.Fatalf("not done after %v (done after %v)", hostileDeadline, elapsed)
			}
			c.want(t, st)
			if sum := st.Reassembled + st.TimedOut + st.Incomplete + st.DroppedLimit + st.Invalid; sum != uint64(c.n) {
				t.Errorf("outcomes add up to %d, %d fragments", sum, c.n)
			}
			if limit := uint64(DefaultReassemblyLimits().Bytes()) + hostileBaseAlloc; alloc > limit {
				t.Errorf("allocated %d bytes for %d fragments, limit %d", alloc, c.n, limit)
			}
			if r.live > MaxReassemblies || len(r.slots) > MaxReassemblies {
				t.Errorf("%d datagrams live in %d slots", r.live, len(r.slots))
			}
			t.Logf("%d packets in %v (%.0f ns each), %d bytes allocated", c.n, elapsed, float64(elapsed.Nanoseconds())/float64(c.n), alloc)
		})
	}
}

// TestFragmentFloodSparesProbes: a flood of fragments that never complete
// fills the table, yet a probe whose fragments arrive together (nmap -f)
// is rebuilt, because room is made by dropping the oldest datagram.
func TestFragmentFloodSparesProbes(t *testing.T) {
	syn := synSegment(80)
	r := NewReassembler(DefaultReassemblyLimits())
	var p Packet
	rec := Record{LinkType: LinkRaw}
	frame, probes := 0, 0
	feed := func(d []byte) {
		frame++
		rec.Frame, rec.Timestamp, rec.Data, rec.CapLen, rec.OrigLen = uint64(frame), floodT0+int64(frame)*100, d, len(d), len(d)
		Decode(&rec, &p)
		r.Add(&rec, &p)
	}
	const flood = 200_000 / floodScale
	for i := range flood {
		feed(ip4(uint16(i), 17, syn, 8, 8, true)) // the flood: UDP, never completed
		if i%1000 == 999 {
			for _, f := range frags4(uint16(i), 6, syn, cut{0, 8}, cut{8, 8}, cut{16, 8}) {
				feed(f)
			}
			if !p.Reassembled || p.TCPFlags != TCPFlagSYN {
				t.Fatalf("probe %d not rebuilt among the flood: %+v", i/1000, r.Stats())
			}
			probes++
		}
	}
	// Each probe takes the oldest flood datagram's slot and frees its own
	// for the flood's next fragment; the last one's stays free.
	if st := r.Stats(); st.DatagramsReassembled != uint64(probes) || st.DroppedLimit != flood-(MaxReassemblies-1) ||
		st.Incomplete != MaxReassemblies-1 {
		t.Errorf("%+v", st)
	}
}

// BenchmarkFragmentFlood reads floods of first fragments that never
// complete, 1, 2, 4 and 8 times as long: the time per fragment and the
// memory stay flat (linear time, memory bounded by the table), which the
// ns/fragment and B/op columns show.
func BenchmarkFragmentFlood(b *testing.B) {
	syn := synSegment(80)
	for _, k := range []int{1, 2, 4, 8} {
		n := k * 125_000 // 8x: a million fragments
		b.Run(fmt.Sprintf("%dx-%dk", k, n/1000), func(b *testing.B) {
			frags := make([][]byte, 4096)
			for i := range frags {
				frags[i] = ip4(uint16(i), 6, syn, 0, 8, true)
			}
			b.ReportAllocs()
			var p Packet
			rec := Record{LinkType: LinkRaw}
			for b.Loop() {
				r := NewReassembler(DefaultReassemblyLimits())
				for i := range n {
					d := frags[i%len(frags)]
					setSrcByte(setID(d, uint16(i)), byte(i>>16)) // a new datagram each time
					rec.Timestamp, rec.Data, rec.CapLen, rec.OrigLen = floodT0+int64(i)*1000, d, len(d), len(d)
					Decode(&rec, &p)
					r.Add(&rec, &p)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fragment")
		})
	}
}
