package pcapng

import "encoding/binary"

// SCTP common header (RFC 9260 §3.1) and the header of the first chunk
// (§3.2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Source Port Number        |     Destination Port Number   |
//	|                      Verification Tag                         |
//	|                           Checksum                            |
//	|   Chunk Type  | Chunk  Flags  |        Chunk Length           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The ports sit where TCP's and UDP's do, so an ICMP error quoting an
// SCTP packet carries them in its first 8 bytes too.
const (
	sctpSrcPort    = 0
	sctpDstPort    = 2
	sctpVTag       = 4
	sctpCsum       = 8
	sctpChunkType  = 12
	sctpChunkFlags = 13
	sctpChunkLen   = 14

	sctpNeedVTag      = 8
	sctpNeedChunkType = 13
	sctpNeedFlags     = 14
)

// SCTPCommonLen is the length of the SCTP common header.
const SCTPCommonLen = 12

// SCTPChunkHeaderLen is the length of a chunk header (type, flags, length).
const SCTPChunkHeaderLen = 4

// SCTP chunk types (RFC 9260 §3.2) a port scan and its answers use.
const (
	SCTPChunkData             = 0
	SCTPChunkInit             = 1 // nmap -sY probe
	SCTPChunkInitAck          = 2 // -sY: open
	SCTPChunkSACK             = 3
	SCTPChunkHeartbeat        = 4
	SCTPChunkHeartbeatAck     = 5
	SCTPChunkAbort            = 6 // -sY and -sZ: closed
	SCTPChunkShutdown         = 7
	SCTPChunkShutdownAck      = 8
	SCTPChunkError            = 9
	SCTPChunkCookieEcho       = 10 // nmap -sZ probe
	SCTPChunkCookieAck        = 11
	SCTPChunkShutdownComplete = 14
)

// SCTPFlagT is the T bit of ABORT and SHUTDOWN COMPLETE (RFC 9260 §3.3.7):
// the verification tag is the receiver's own, reflected.
const SCTPFlagT = 0x01

// SCTP is a view of an SCTP packet, obtained from ParseSCTP.
type SCTP []byte

// ParseSCTP checks the common header and the first chunk's header: its
// length at least 4 and within b. A packet without a chunk is invalid.
func ParseSCTP(b []byte) (SCTP, error) {
	if len(b) < SCTPCommonLen+SCTPChunkHeaderLen {
		return nil, ErrHeaderTruncated
	}
	s := SCTP(b)
	if n := s.ChunkLength(); n < SCTPChunkHeaderLen {
		return nil, ErrHeaderInvalid
	} else if n > len(b)-SCTPCommonLen {
		return nil, ErrHeaderTruncated
	}
	return s, nil
}

// SourcePort is the source port.
func (s SCTP) SourcePort() uint16 { return binary.BigEndian.Uint16(s[sctpSrcPort:]) }

// DestinationPort is the destination port.
func (s SCTP) DestinationPort() uint16 { return binary.BigEndian.Uint16(s[sctpDstPort:]) }

// VerificationTag is the verification tag (0 in an INIT).
func (s SCTP) VerificationTag() uint32 { return binary.BigEndian.Uint32(s[sctpVTag:]) }

// Checksum is the CRC32c as written (not verified).
func (s SCTP) Checksum() uint32 { return binary.BigEndian.Uint32(s[sctpCsum:]) }

// ChunkType is the first chunk's type.
func (s SCTP) ChunkType() uint8 { return s[sctpChunkType] }

// ChunkFlags are the first chunk's flags.
func (s SCTP) ChunkFlags() uint8 { return s[sctpChunkFlags] }

// ChunkLength is the first chunk's length field, its header included
// (padding excluded).
func (s SCTP) ChunkLength() int { return int(binary.BigEndian.Uint16(s[sctpChunkLen:])) }

// Chunk is the first chunk, header included.
func (s SCTP) Chunk() []byte { return s[SCTPCommonLen:][:s.ChunkLength()] }

// sctpDecode fills the SCTP fields. Like TCP, L4SCTP is set once the
// ports are captured and each later field once its bytes are; a chunk
// whose length is below 4 or beyond the packet (per the IP length) is
// AnomalyBadL4Header, a cut one AnomalyL4Truncated.
func sctpDecode(p *Packet, b []byte, declared int) {
	if len(b) < tcpNeedPorts {
		p.Anomalies |= AnomalyL4Truncated
		return
	}
	p.L4 = L4SCTP
	p.SrcPort = binary.BigEndian.Uint16(b[sctpSrcPort:])
	p.DstPort = binary.BigEndian.Uint16(b[sctpDstPort:])
	p.PayloadLen = max(declared-SCTPCommonLen, 0)
	if len(b) >= sctpNeedVTag {
		p.SCTPVTag = binary.BigEndian.Uint32(b[sctpVTag:])
	}
	if len(b) >= sctpNeedChunkType {
		p.SCTPChunk = b[sctpChunkType]
	}
	if len(b) >= sctpNeedFlags {
		p.SCTPChunkFlags = b[sctpChunkFlags]
	}
	need := SCTPCommonLen + SCTPChunkHeaderLen
	if len(b) < need {
		if declared < need {
			p.Anomalies |= AnomalyBadL4Header // no room for a chunk at all
		} else {
			p.Anomalies |= AnomalyL4Truncated
		}
		return
	}
	if n := int(binary.BigEndian.Uint16(b[sctpChunkLen:])); n < SCTPChunkHeaderLen || n > declared-SCTPCommonLen {
		p.Anomalies |= AnomalyBadL4Header
	}
}
