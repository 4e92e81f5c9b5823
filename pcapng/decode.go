package pcapng

// Decode resets *p and fills it from rec: the record's metadata, then the
// link, network and transport headers as far as they were captured.
//
// A packet inside tunnels (VXLAN, GENEVE, GRE, NVGRE, ERSPAN, IP-in-IP,
// Teredo, GTP-U; tunnel.go) is decoded as the packet the tunnels carry,
// at most MaxTunnelDepth of them deep, with the tunnels named in the
// Tunnel fields.
//
// Input is untrusted: Decode never panics, never allocates, and keeps no
// reference to rec.Data (every field of Packet is a value). What it could
// not decode is recorded in p.Anomalies. L3 is L3IPv4 or L3IPv6 only when
// the addresses were read; L4 is L4TCP, L4UDP or L4SCTP only when the
// ports were read, L4ICMP or L4ICMPv6 only when type and code were read;
// so the scan engine never counts zeros as addresses or ports.
func Decode(rec *Record, p *Packet) {
	if p == nil {
		return
	}
	*p = Packet{}
	if rec == nil {
		return
	}
	p.Frame = rec.Frame
	p.Timestamp = rec.Timestamp
	p.Precision = rec.Precision
	p.Interface = rec.Interface
	p.CapLen = rec.CapLen
	p.OrigLen = rec.OrigLen
	p.Link = rec.LinkType
	if rec.CapLen < rec.OrigLen {
		p.Anomalies |= AnomalySnapTruncated
	}
	p.NetOffset = -1
	nl := linkDecode(p, rec.LinkType, rec.Data)
	if nl != nil {
		p.netBase = cap(rec.Data)
		p.NetOffset = int32(p.netBase - cap(nl))
	}
	switch {
	case nl == nil:
	case p.L3 == L3IPv4:
		ipDecode4(p, nl)
	case p.L3 == L3IPv6:
		ipDecode6(p, nl)
	}
	p.netBase = 0
}

// flagLetters are the tcpdump letters in tcpdump's order (print-tcp.c
// tcp_flag_values: F S R P . U E W), with "A" for ACK where tcpdump prints
// "." and "N" for the historic NS bit, last.
var flagLetters = [...]struct {
	bit    uint16
	letter byte
}{
	{TCPFlagFIN, 'F'}, {TCPFlagSYN, 'S'}, {TCPFlagRST, 'R'}, {TCPFlagPSH, 'P'},
	{TCPFlagACK, 'A'}, {TCPFlagURG, 'U'}, {TCPFlagECE, 'E'}, {TCPFlagCWR, 'W'},
	{TCPFlagNS, 'N'},
}

// FlagString renders TCP flags as tcpdump letters in tcpdump's order
// ("S", "SA", "FPU", "FA", "" for none). Bits above TCPFlagNS are ignored.
// The combinations scans and normal traffic produce are constants and do
// not allocate; rarer ones build a short string.
func FlagString(flags uint16) string {
	switch flags & 0x1ff {
	case 0:
		return ""
	case TCPFlagFIN:
		return "F"
	case TCPFlagSYN:
		return "S"
	case TCPFlagRST:
		return "R"
	case TCPFlagPSH:
		return "P"
	case TCPFlagACK:
		return "A"
	case TCPFlagURG:
		return "U"
	case TCPFlagFIN | TCPFlagACK:
		return "FA"
	case TCPFlagSYN | TCPFlagACK:
		return "SA"
	case TCPFlagRST | TCPFlagACK:
		return "RA"
	case TCPFlagPSH | TCPFlagACK:
		return "PA"
	case TCPFlagFIN | TCPFlagPSH | TCPFlagACK:
		return "FPA"
	case TCPFlagFIN | TCPFlagPSH | TCPFlagURG:
		return "FPU"
	case TCPFlagSYN | TCPFlagFIN:
		return "FS"
	case TCPFlagSYN | TCPFlagRST:
		return "SR"
	case TCPFlagSYN | TCPFlagECE | TCPFlagCWR:
		return "SEW"
	case TCPFlagSYN | TCPFlagACK | TCPFlagECE:
		return "SAE"
	case TCPFlagACK | TCPFlagURG:
		return "AU"
	case TCPFlagPSH | TCPFlagACK | TCPFlagURG:
		return "PAU"
	case 0xff:
		return "FSRPAUEW"
	case 0x1ff:
		return "FSRPAUEWN"
	}
	var buf [len(flagLetters)]byte
	n := 0
	for _, f := range flagLetters {
		if flags&f.bit != 0 {
			buf[n] = f.letter
			n++
		}
	}
	return string(buf[:n])
}
