package scan

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"porthunter/pcapng"
)

// mixedPackets generates a deterministic capture of n packets or so that
// exercises every part of the engine at once: SYN, stealth, ACK/window,
// UDP and ping scans with every kind of answer (RST, SYN/ACK, UDP
// replies, ICMP errors quoting the probe, time exceeded), nmap decoys
// (identical probes from several sources), a distributed scan, TCP and
// UDP probes of the same port, tool fingerprints (masscan, zmap, nmap),
// client sessions with data, DNS, IPv6, timestamps out of order and a
// few packets without one.
func mixedPackets(seed uint64, n int) []pcapng.Packet {
	g := &mixGen{r: rand.New(rand.NewPCG(seed, 7)), ts: t0}
	for len(g.ps) < n {
		switch k := g.r.IntN(16); k {
		case 0, 1:
			g.synScan(g.v4(), g.v4(), 20+g.r.IntN(60), false)
		case 2:
			g.synScan(g.v6(), g.v6(), 15+g.r.IntN(20), false)
		case 3:
			g.stealthScan()
		case 4:
			g.ackScan()
		case 5:
			g.udpScan()
		case 6:
			g.pingSweep()
		case 7:
			g.decoys()
		case 8:
			g.distributed()
		case 9:
			g.twins()
		case 10:
			g.tools()
		case 11, 12:
			g.sessions()
		case 13:
			g.dns()
		case 14:
			g.synScan(g.v4(), g.v4(), 3+g.r.IntN(5), true) // small and slow
		case 15:
			g.backscatter()
		}
	}
	return g.ps
}

type mixGen struct {
	r     *rand.Rand
	ps    []pcapng.Packet
	ts    int64
	frame uint64
}

// v4 draws from a small pool so that sources meet again as targets.
func (g *mixGen) v4() netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(g.r.IntN(3)), byte(g.r.IntN(8)), byte(1 + g.r.IntN(60))})
}

func (g *mixGen) v6() netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(g.r.IntN(4)), 15: byte(1 + g.r.IntN(40))})
}

// tick advances the clock, now and then backwards (out of order) and now
// and then not at all (equal timestamps).
func (g *mixGen) tick() int64 {
	switch g.r.IntN(40) {
	case 0:
		return g.ts - int64(g.r.IntN(3000))*1000
	case 1:
		return g.ts
	}
	g.ts += int64(1 + g.r.IntN(20000000))
	return g.ts
}

func (g *mixGen) base(src, dst netip.Addr) *pcapng.Packet {
	g.frame++
	p := pcapng.Packet{Frame: g.frame, Timestamp: g.tick(), Precision: 9, Src: src, Dst: dst, TTL: 64, WScale: 0xff}
	if g.r.IntN(500) == 0 {
		p.Timestamp = 0 // a Simple Packet Block
	}
	p.L3 = pcapng.L3IPv4
	if src.Is6() {
		p.L3 = pcapng.L3IPv6
	}
	g.ps = append(g.ps, p)
	return &g.ps[len(g.ps)-1]
}

func (g *mixGen) tcp(src netip.Addr, sp uint16, dst netip.Addr, dp uint16, flags uint16, payload int) *pcapng.Packet {
	p := g.base(src, dst)
	p.Proto, p.L4 = protoTCP, pcapng.L4TCP
	p.SrcPort, p.DstPort, p.TCPFlags, p.PayloadLen = sp, dp, flags, payload
	p.Window = 29200
	p.Seq = g.r.Uint32()
	p.IPID = uint32(g.r.IntN(1 << 16))
	p.OptCount, p.OptKinds, p.MSS = 1, 2, 1460
	if flags&fA != 0 {
		p.Ack = g.r.Uint32()
	}
	return p
}

func (g *mixGen) udp(src netip.Addr, sp uint16, dst netip.Addr, dp uint16, payload int) *pcapng.Packet {
	p := g.base(src, dst)
	p.Proto, p.L4 = protoUDP, pcapng.L4UDP
	p.SrcPort, p.DstPort, p.PayloadLen = sp, dp, payload
	return p
}

func (g *mixGen) icmp(src, dst netip.Addr, typ, code uint8, quote *pcapng.Packet) *pcapng.Packet {
	p := g.base(src, dst)
	p.Proto, p.L4 = protoICMP, pcapng.L4ICMP
	if p.L3 == pcapng.L3IPv6 {
		p.Proto, p.L4 = protoICMPv6, pcapng.L4ICMPv6
	}
	p.ICMPType, p.ICMPCode = typ, code
	if quote != nil {
		p.Quoted, p.QSrc, p.QDst, p.QProto = true, quote.Src, quote.Dst, quote.Proto
		p.QSrcPort, p.QDstPort, p.QHasPorts = quote.SrcPort, quote.DstPort, true
	}
	return p
}

// answer sends a typical answer to a TCP probe, or none.
func (g *mixGen) answer(p *pcapng.Packet) {
	src, dst, sp, dp := p.Src, p.Dst, p.SrcPort, p.DstPort
	switch g.r.IntN(6) {
	case 0:
		g.tcp(dst, dp, src, sp, fS|fA, 0)
		if g.r.IntN(2) == 0 {
			g.tcp(src, sp, dst, dp, fR, 0)
		} else {
			g.tcp(src, sp, dst, dp, fA, 0) // connect(): handshake completed
		}
	case 1, 2:
		g.tcp(dst, dp, src, sp, fR|fA, 0)
	case 3:
		if g.r.IntN(3) == 0 {
			g.icmp(g.v4(), src, icmpUnreachable, 13, p) // a router: filtered
		}
	}
}

func (g *mixGen) synScan(src, dst netip.Addr, ports int, slow bool) {
	sp := uint16(40000 + g.r.IntN(20000))
	for i := range ports {
		port := uint16(1 + g.r.IntN(1024))
		if g.r.IntN(4) == 0 {
			dst = g.v4()
			if src.Is6() {
				dst = g.v6()
			}
		}
		p := g.tcp(src, sp, dst, port, fS, 0)
		if slow {
			g.ts += int64(i) * 60e9
		}
		if g.r.IntN(20) == 0 { // a retransmission
			q := *p
			g.frame++
			q.Frame, q.Timestamp = g.frame, g.tick()
			g.ps = append(g.ps, q)
		}
		g.answer(&g.ps[len(g.ps)-1])
	}
}

func (g *mixGen) stealthScan() {
	src, dst := g.v4(), g.v4()
	flags := []uint16{fF, 0, fF | fP | fU, fF | fA, fS | fF}[g.r.IntN(5)]
	for range 5 + g.r.IntN(20) {
		port := uint16(1 + g.r.IntN(2000))
		p := g.tcp(src, 50000, dst, port, flags, 0)
		if g.r.IntN(3) == 0 {
			g.tcp(dst, port, src, 50000, fR|fA, 0)
		}
		_ = p
	}
}

func (g *mixGen) ackScan() {
	src, dst := g.v4(), g.v4()
	for range 10 + g.r.IntN(20) {
		port := uint16(1 + g.r.IntN(1000))
		p := g.tcp(src, 41000, dst, port, fA, 0)
		p.Window = 1024
		if g.r.IntN(4) != 0 {
			r := g.tcp(dst, port, src, 41000, fR, 0)
			r.Window = uint16(g.r.IntN(2)) * 512
		}
	}
}

func (g *mixGen) udpScan() {
	src, dst := g.v4(), g.v4()
	for range 10 + g.r.IntN(30) {
		port := uint16(1 + g.r.IntN(1000))
		p := g.udp(src, 53000, dst, port, 0)
		switch g.r.IntN(4) {
		case 0:
			g.icmp(dst, src, icmpUnreachable, icmpPortUnreach, p)
		case 1:
			g.udp(dst, port, src, 53000, 40)
		case 2:
			g.icmp(g.v4(), src, icmpTimeExceeded, 0, p)
		}
	}
}

func (g *mixGen) pingSweep() {
	src := g.v4()
	for range 10 + g.r.IntN(40) {
		dst := g.v4()
		p := g.icmp(src, dst, icmpEcho, 0, nil)
		p.ICMPID, p.ICMPSeq = 7, uint16(g.r.IntN(100))
		if g.r.IntN(2) == 0 {
			g.icmp(dst, src, icmpEchoReply, 0, nil)
		}
	}
	if g.r.IntN(3) == 0 { // IPv6
		src := g.v6()
		for range 12 {
			dst := g.v6()
			g.icmp(src, dst, icmp6EchoRequest, 0, nil)
			if g.r.IntN(2) == 0 {
				g.icmp(dst, src, icmp6EchoReply, 0, nil)
			}
		}
	}
}

// decoys sends each probe of an nmap -D scan from the real source and
// every decoy: same destination, ports, sequence and IP ID.
func (g *mixGen) decoys() {
	dst := g.v4()
	srcs := []netip.Addr{g.v4(), g.v4(), g.v4()}
	seq, sp := g.r.Uint32(), uint16(60000+g.r.IntN(100))
	for range 5 + g.r.IntN(10) {
		port := uint16(1 + g.r.IntN(1000))
		ipid := uint32(g.r.IntN(1 << 16))
		for _, s := range srcs {
			p := g.tcp(s, sp, dst, port, fS, 0)
			p.Seq, p.IPID, p.Window = seq, ipid, 1024
		}
		if g.r.IntN(2) == 0 {
			g.tcp(dst, port, srcs[0], sp, fR|fA, 0)
		}
	}
}

// distributed has several sources each probe a few ports of one host.
func (g *mixGen) distributed() {
	dst := g.v4()
	for range 5 + g.r.IntN(4) {
		src := g.v4()
		for range 2 + g.r.IntN(3) {
			port := uint16(1 + g.r.IntN(100))
			g.tcp(src, 45000, dst, port, fS, 0)
			g.tcp(dst, port, src, 45000, fR|fA, 0)
		}
	}
}

// twins probes ports over both TCP and UDP.
func (g *mixGen) twins() {
	src, dst := g.v4(), g.v4()
	for range 10 + g.r.IntN(10) {
		port := uint16(1 + g.r.IntN(30))
		g.tcp(src, 46000, dst, port, fS, 0)
		g.udp(src, 46000, dst, port, 0)
	}
}

// tools sends probes with the field relationships of masscan, zmap and
// nmap.
func (g *mixGen) tools() {
	src := g.v4()
	kind := g.r.IntN(3)
	sp := uint16(61000)
	for range 8 + g.r.IntN(10) {
		dst := g.v4()
		port := uint16(1 + g.r.IntN(1000))
		p := g.tcp(src, sp, dst, port, fS, 0)
		a := dst.As4()
		d := binary.BigEndian.Uint32(a[:])
		switch kind {
		case 0:
			p.IPID = (d ^ uint32(port) ^ p.Seq) & 0xffff
			p.TTL, p.Window, p.OptCount, p.OptKinds, p.MSS = 255, 1024, 0, 0, 0
		case 1:
			p.IPID, p.Window = 54321, 65535
		case 2:
			p.Window, p.Seq = 1024, 0x1234
			p.TTL = 45
		}
		g.answer(p)
	}
}

// sessions are client connections with data: successes, not probes.
func (g *mixGen) sessions() {
	c, s := g.v4(), g.v4()
	sp := uint16(30000 + g.r.IntN(30000))
	g.tcp(c, sp, s, 443, fS, 0)
	g.tcp(s, 443, c, sp, fS|fA, 0)
	g.tcp(c, sp, s, 443, fA, 0)
	for range 2 + g.r.IntN(6) {
		g.tcp(c, sp, s, 443, fA|fP, 200)
		g.tcp(s, 443, c, sp, fA, 1200)
	}
	g.tcp(c, sp, s, 443, fF|fA, 0)
	if g.r.IntN(4) == 0 { // a flow that began before the capture
		g.tcp(g.v4(), 443, g.v4(), 55000, fA|fP, 500)
	}
}

func (g *mixGen) dns() {
	c := g.v4()
	for range 3 {
		g.udp(c, uint16(20000+g.r.IntN(1000)), netip.MustParseAddr("10.9.9.53"), 53, 40)
		g.udp(netip.MustParseAddr("10.9.9.53"), 53, c, uint16(20000+g.r.IntN(1000)), 90)
	}
	g.udp(c, 5353, netip.MustParseAddr("224.0.0.251"), 5353, 50) // multicast
}

// backscatter: SYN/ACKs and RSTs to nothing seen.
func (g *mixGen) backscatter() {
	for range 3 {
		g.tcp(g.v4(), 80, g.v4(), uint16(g.r.IntN(65535)), fS|fA, 0)
		g.tcp(g.v4(), 80, g.v4(), uint16(g.r.IntN(65535)), fR, 0)
	}
	a := g.base(g.v4(), g.v4())
	a.L3 = pcapng.L3ARP
}
