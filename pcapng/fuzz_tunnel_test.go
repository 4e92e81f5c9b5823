package pcapng

import (
	"encoding/binary"
	"math/bits"
	"testing"
)

// Fuzz targets for the tunnel and SCTP views (tunnel.go, sctp.go). Seeds
// are the hand-built packets of tunnel_test.go.

// tunnelPayloads calls add with the outer IP protocol and the bytes after
// the outer IP header (UDP: after the UDP header too) of every tunnel case.
func tunnelPayloads(f *testing.F, add func(proto uint8, b []byte)) {
	for _, c := range tunnelCases() {
		e, err := ParseEthernet(h(f, c.data))
		if err != nil {
			continue
		}
		var proto uint8
		var b []byte
		if ip, err := ParseIPv4(e.Payload()); err == nil {
			proto, b = ip.Protocol(), ip.Payload()
		} else if ip, err := ParseIPv6(e.Payload()); err == nil {
			proto, b = ip.NextHeader(), ip.Payload()
		} else {
			continue
		}
		if proto == ipProtoUDP && len(b) >= UDPLen {
			b = b[UDPLen:]
		}
		add(proto, b)
	}
}

// wrapIPv4 puts b behind an IPv4 header 10.0.0.1 > 10.0.0.2 of protocol
// proto (and a UDP header sport > dport when proto is UDP), lengths
// covering b; nil when b is too long for them.
func wrapIPv4(proto uint8, sport, dport uint16, b []byte) []byte {
	hl := IPv4MinLen
	if proto == ipProtoUDP {
		hl += UDPLen
	}
	if hl+len(b) > 0xffff {
		return nil
	}
	pkt := make([]byte, hl+len(b))
	copy(pkt, []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	if proto == ipProtoUDP {
		binary.BigEndian.PutUint16(pkt[20:], sport)
		binary.BigEndian.PutUint16(pkt[22:], dport)
		binary.BigEndian.PutUint16(pkt[24:], uint16(UDPLen+len(b)))
	}
	copy(pkt[hl:], b)
	return pkt
}

// FuzzTunnel reads the same bytes as every tunnel header, checks each
// view against a plain reading of the bytes, then decodes them as the
// payload of each UDP tunnel port and of GRE and IP-in-IP: no panic, the
// invariants hold, and an entered tunnel is of the kind its carrier names.
func FuzzTunnel(f *testing.F) {
	tunnelPayloads(f, func(_ uint8, b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := ParseVXLAN(data); err == nil {
			if len(data) < VXLANLen || data[0]&0x08 == 0 || len(v.Payload()) != len(data)-VXLANLen {
				t.Fatalf("ParseVXLAN(%x) accepted", data)
			}
		}
		if g, err := ParseGENEVE(data); err == nil {
			if data[0]>>6 != 0 || g.HeaderLen() > len(data) || !geneveOptionsTile(g.Options()) ||
				len(g.Payload()) != len(data)-g.HeaderLen() {
				t.Fatalf("ParseGENEVE(%x) accepted", data)
			}
		} else if len(data) >= GENEVEMinLen && data[0]>>6 == 0 && 8+int(data[0]&0x3f)*4 <= len(data) &&
			geneveOptionsTile(data[8:][:int(data[0]&0x3f)*4]) {
			t.Fatalf("ParseGENEVE(%x) = %v", data, err)
		}
		if g, err := ParseGRE(data); err == nil {
			fl := binary.BigEndian.Uint16(data)
			if want := 4 + 4*bits.OnesCount16(fl&0xb000); g.HeaderLen() != want || want > len(data) || fl&0x4c07 != 0 {
				t.Fatalf("ParseGRE(%x) accepted, header %d", data, g.HeaderLen())
			}
		}
		if g, err := ParseGTPU(data); err == nil {
			if n, _ := g.payloadOffset(); n > len(data) || n > max(g.MessageLen(), GTPUMinLen+gtpOptLen) {
				t.Fatalf("GTP-U %x: payload at %d", data, n)
			}
		}
		if n := teredoIndications(data); n > len(data) {
			t.Fatalf("Teredo %x: indications of %d bytes", data, n)
		}
		for _, c := range []struct {
			proto        uint8
			sport, dport uint16
			kinds        []TunnelKind
		}{
			{ipProtoUDP, 40000, PortVXLAN, []TunnelKind{TunnelVXLAN}},
			{ipProtoUDP, 40000, PortGENEVE, []TunnelKind{TunnelGENEVE}},
			{ipProtoUDP, PortGTPU, 40000, []TunnelKind{TunnelGTPU}},
			{ipProtoUDP, 40000, PortTeredo, []TunnelKind{TunnelTeredo}},
			{ipProtoGRE, 0, 0, []TunnelKind{TunnelGRE, TunnelNVGRE, TunnelERSPAN1, TunnelERSPAN2, TunnelERSPAN3}},
			{ipProtoIPIP, 0, 0, []TunnelKind{TunnelIPIP}},
			{ipProtoIPv6, 0, 0, []TunnelKind{Tunnel6in4}},
		} {
			pkt := wrapIPv4(c.proto, c.sport, c.dport, data)
			if pkt == nil {
				return
			}
			p := decodeFuzz(t, LinkIPv4, pkt)
			if p.TunnelDepth == 0 {
				continue
			}
			ok := false
			for _, k := range c.kinds {
				ok = ok || p.TunnelLayer(0) == k
			}
			if !ok {
				t.Fatalf("protocol %d port %d: entered %v", c.proto, c.dport, p.TunnelLayer(0))
			}
		}
	})
}

// geneveOptionsTile is a reference for the option walk: the options are
// a sequence of 4-byte headers each followed by its length in words.
func geneveOptionsTile(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(b) < 4 {
		return false
	}
	n := 4 + 4*int(b[3]%32)
	return n <= len(b) && geneveOptionsTile(b[n:])
}

// FuzzSCTP decodes the bytes as an SCTP packet behind an IPv4 header and
// compares Decode with the view and with the bytes.
func FuzzSCTP(f *testing.F) {
	tunnelPayloads(f, func(proto uint8, b []byte) {
		if proto == ipProtoSCTP {
			f.Add(b)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkt := wrapIPv4(ipProtoSCTP, 0, 0, data)
		if pkt == nil {
			return
		}
		s, err := ParseSCTP(data)
		p := decodeFuzz(t, LinkIPv4, pkt)
		if (len(data) >= 4) != (p.L4 == L4SCTP) {
			t.Fatalf("SCTP of %d bytes decoded as L4 %d", len(data), p.L4)
		}
		if p.L4 != L4SCTP {
			return
		}
		if p.SrcPort != binary.BigEndian.Uint16(data) || p.DstPort != binary.BigEndian.Uint16(data[2:]) ||
			len(data) >= 8 && p.SCTPVTag != binary.BigEndian.Uint32(data[4:]) ||
			len(data) >= 13 && p.SCTPChunk != data[12] || p.PayloadLen != max(len(data)-12, 0) {
			t.Fatalf("Decode(%x) = %+v disagrees with the bytes", data, p)
		}
		// The whole packet is captured, so every rejection is a malformed
		// header and every acceptance a clean one.
		if (err != nil) != (p.Anomalies&AnomalyBadL4Header != 0) {
			t.Fatalf("ParseSCTP(%x) = %v, Decode anomalies %#x", data, err, p.Anomalies)
		}
		if err == nil && (s.ChunkType() != p.SCTPChunk || s.ChunkFlags() != p.SCTPChunkFlags ||
			s.VerificationTag() != p.SCTPVTag || len(s.Chunk()) < SCTPChunkHeaderLen || len(s.Chunk()) > len(data)-SCTPCommonLen) {
			t.Fatalf("Decode = %+v disagrees with the SCTP view of %x", p, data)
		}
	})
}
