// Package pcapng reads packet captures and decodes the headers a port-scan
// detector needs.
//
// Reader streams classic pcap (microsecond, nanosecond and Kuznetzov's
// modified format, either byte order) and pcapng (any number of sections,
// each in its own byte order), optionally gzip-compressed; the format is
// told by the magic bytes alone. Decode turns a Record into a Packet:
// Ethernet/VLAN/PPPoE/MPLS, Linux cooked, loopback, raw IP and PPP
// framing, then IPv4, IPv6, TCP, UDP, ICMP and SCTP, through VXLAN,
// GENEVE, GRE (with NVGRE and ERSPAN), IP-in-IP, Teredo and GTP-U
// tunnels to the packet they carry. Reassembler rebuilds fragmented IPv4
// and IPv6 datagrams after Decode, so that a probe split into fragments
// is classified whole (reassembly.go). Writer writes records
// back as pcapng, each with its timestamp to the nanosecond, its bytes,
// lengths and interface (link type, snaplen, name).
//
// Input is untrusted. Every length is checked before use and bounded by the
// named limits of limits.go (Limits lets a caller lower them); hitting one
// is an error wrapping ErrLimit, never a silent cut. Nothing is allocated
// in proportion to a length field before the bytes are there, the steady
// path allocates nothing per record, and no input causes a panic.
// Behaviour on damaged files follows Wireshark's where it is reasonable;
// corpus_test.go lists where and why it differs.
package pcapng
