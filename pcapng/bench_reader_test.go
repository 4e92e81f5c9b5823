package pcapng

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// benchFrame builds the i-th Ethernet/IPv4/TCP SYN of a port scan: 14 +
// 20 + 24 (MSS option) bytes, padded to the 60-byte Ethernet minimum, and
// every 4th one carries 16 more option bytes (76 bytes), so sizes vary
// like nmap's probes.
func benchFrame(i int) []byte {
	b := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00}
	optLen := 4
	if i%4 == 0 {
		optLen = 20
	}
	ipLen := 20 + 20 + optLen
	b = append(b, 0x45, 0, byte(ipLen>>8), byte(ipLen), byte(i>>8), byte(i), 0, 0, 64, 6, 0, 0,
		203, 0, 113, 66, 10, 0, byte(i>>8), byte(i))
	b = binary.BigEndian.AppendUint16(b, 40000)
	b = binary.BigEndian.AppendUint16(b, uint16(1+i%1000))
	b = binary.BigEndian.AppendUint32(b, 0x11223344)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, byte((20+optLen)/4)<<4, 0x02, 0x04, 0x00, 0, 0, 0, 0)
	b = append(b, 2, 4, 0x05, 0xb4)
	for range optLen - 4 {
		b = append(b, 1) // NOP
	}
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// benchPCAP generates an in-memory little-endian µs pcap of n SYNs.
func benchPCAP(n int) []byte {
	recs := make([]testRec, n)
	for i := range recs {
		recs[i] = testRec{sec: 1773480413 + uint32(i/1000), frac: uint32(i%1000) * 1000, data: benchFrame(i)}
	}
	return pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), recs...)
}

// benchPCAPNG generates the same packets as a pcapng file with EPBs.
func benchPCAPNG(n int) []byte {
	var buf bytes.Buffer
	buf.Write(ngSHB(le, 1, 0))
	buf.Write(ngIDB(le, LinkEthernet, 262144, ngOpt(le, optIfName, []byte("eth0"))))
	for i := range n {
		buf.Write(ngEPB(le, 0, uint64(1773480413_000000+i*1000), benchFrame(i), 0))
	}
	return buf.Bytes()
}

const benchPackets = 100_000

func benchmarkReader(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var p Packet
	total := 0
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			Decode(rec, &p)
			total++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/packet")
}

// BenchmarkReader reads and decodes ~100k Ethernet/IPv4/TCP SYNs.
func BenchmarkReader(b *testing.B) {
	b.Run("pcap", func(b *testing.B) { benchmarkReader(b, benchPCAP(benchPackets)) })
	b.Run("pcapng", func(b *testing.B) { benchmarkReader(b, benchPCAPNG(benchPackets)) })
}
