// Package testcap writes and reads back the captures that the tests of
// several packages (main, capture, mcp) need, with the product's own writer,
// pcapng.Writer: those tests need packets in a file, not a file format
// (the reader's handling of pcap and pcapng is tested on the fixtures). No
// product package imports it.
package testcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"porthunter/pcapng"
)

// Write writes recs to path as one interface of the first record's link
// type, in microseconds or in nanoseconds as the first record resolves.
func Write(path string, recs []pcapng.Record) error {
	itf := pcapng.InterfaceInfo{LinkType: recs[0].LinkType, SnapLen: 262144, TSResolDigits: recs[0].Precision}
	return write(path, itf, func(w *pcapng.Writer) error {
		for _, r := range recs {
			r.Interface = 0
			if err := w.WritePacket(itf, &r); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteBigSYN writes a capture of n raw-IPv4 SYN packets (link type 101;
// 72 bytes each) from 198.51.100.x to 10.0.x.y, 100,000 a second, for the
// tests of slow calls, progress and cancellation: packet i is BigSYN(i) at
// 1700000000 s + i × 10 µs.
//
// The writer makes the headers and the first packet's block; the other
// blocks are copies of it with the packet and the time patched in place.
// Through the writer, a packet costs ten times more under the race
// detector, and these captures of millions of packets took seconds of
// each test that wrote one. TestWriteReadBack reads every packet back.
func WriteBigSYN(path string, n int) error {
	itf := pcapng.InterfaceInfo{LinkType: pcapng.LinkRaw, SnapLen: 65535, TSResolDigits: 6}
	var head bytes.Buffer
	w := pcapng.NewWriter(&head)
	err := w.WriteSectionHeader("")
	if err == nil {
		err = w.WriteInterface(itf)
	}
	if err == nil {
		err = w.Flush()
	}
	hdrLen := head.Len()
	if err == nil && n > 0 {
		rec := pcapng.Record{LinkType: pcapng.LinkRaw, Timestamp: bigSYNTime(0), Data: BigSYN(0), OrigLen: 40}
		err = w.WritePacket(itf, &rec)
		if err == nil {
			err = w.Flush()
		}
	}
	if err != nil {
		return err
	}
	// An Enhanced Packet Block without options: type, length, interface,
	// time high and low, captured and original length, the 40 bytes,
	// length again.
	const blockLen, tsOff, dataOff = 72, 12, 28
	b := head.Bytes()
	order := binary.ByteOrder(binary.LittleEndian)
	if binary.BigEndian.Uint32(b[8:]) == 0x1A2B3C4D { // the section's byte-order magic
		order = binary.BigEndian
	}
	block := b[hdrLen:]
	if n > 0 && (len(block) != blockLen || order.Uint32(block[4:]) != blockLen) {
		return fmt.Errorf("testcap: the writer's packet block is %d bytes, not the %d WriteBigSYN patches", len(block), blockLen)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := append(make([]byte, 0, 1<<20), b[:hdrLen]...)
	for i := 0; i < n && err == nil; i++ {
		// Only the bytes that change: the time, the source's last byte,
		// the destination's last two, the destination port.
		us := uint64(bigSYNTime(i) / 1e3)
		order.PutUint32(block[tsOff:], uint32(us>>32))
		order.PutUint32(block[tsOff+4:], uint32(us))
		d := block[dataOff:]
		d[15], d[18], d[19] = byte(i>>16), byte(i>>8), byte(i)
		binary.BigEndian.PutUint16(d[22:], uint16(i%1024+1))
		buf = append(buf, block...)
		if len(buf) > cap(buf)-blockLen {
			_, err = f.Write(buf)
			buf = buf[:0]
		}
	}
	if err == nil {
		_, err = f.Write(buf)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// BigSYN is packet i of WriteBigSYN: a raw IPv4 SYN from
// 198.51.100.(i>>16) port 40000 to 10.0.(i>>8).i port i%1024+1.
func BigSYN(i int) []byte {
	p := make([]byte, 40)
	p[0], p[2], p[3], p[8], p[9] = 0x45, 0, 40, 64, 6
	copy(p[12:16], []byte{198, 51, 100, byte(i >> 16)})
	copy(p[16:20], []byte{10, 0, byte(i >> 8), byte(i)})
	binary.BigEndian.PutUint16(p[20:], 40000)
	binary.BigEndian.PutUint16(p[22:], uint16(i%1024+1))
	p[32], p[33] = 0x50, 0x02
	return p
}

// bigSYNTime is packet i's time of WriteBigSYN, in nanoseconds.
func bigSYNTime(i int) int64 {
	return int64(1700000000+i/100000)*1e9 + int64(i%100000)*10*1e3
}

// write makes path a capture of one section and interface itf, with the
// packets body writes.
func write(path string, itf pcapng.InterfaceInfo, body func(w *pcapng.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapng.NewWriter(f) // buffered

	err = w.WriteSectionHeader("")
	if err == nil {
		err = w.WriteInterface(itf)
	}
	if err == nil {
		err = body(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadAll reads every record of the capture at path with the product's
// reader, each record's data copied.
func ReadAll(path string) ([]pcapng.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := pcapng.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out []pcapng.Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		r := *rec
		r.Data = append([]byte(nil), rec.Data...)
		out = append(out, r)
	}
}
