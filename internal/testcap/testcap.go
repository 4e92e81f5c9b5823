// Package testcap writes and reads back the captures that the tests of
// several packages (main, capture, mcp) need, with the product's own writer,
// pcapng.Writer: those tests need packets in a file, not a file format
// (the reader's handling of pcap and pcapng is tested on the fixtures). No
// product package imports it.
package testcap

import (
	"encoding/binary"
	"errors"
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
// tests of slow calls, progress and cancellation.
func WriteBigSYN(path string, n int) error {
	itf := pcapng.InterfaceInfo{LinkType: pcapng.LinkRaw, SnapLen: 65535, TSResolDigits: 6}
	return write(path, itf, func(w *pcapng.Writer) error {
		p := make([]byte, 40)
		for i := 0; i < n; i++ {
			p[0], p[2], p[3], p[8], p[9] = 0x45, 0, 40, 64, 6
			copy(p[12:16], []byte{198, 51, 100, byte(i >> 16)})
			copy(p[16:20], []byte{10, 0, byte(i >> 8), byte(i)})
			binary.BigEndian.PutUint16(p[20:], 40000)
			binary.BigEndian.PutUint16(p[22:], uint16(i%1024+1))
			p[32], p[33] = 0x50, 0x02
			ts := int64(1700000000+i/100000)*1e9 + int64(i%100000)*10*1e3
			rec := pcapng.Record{LinkType: pcapng.LinkRaw, Timestamp: ts, Data: p, OrigLen: len(p)}
			if err := w.WritePacket(itf, &rec); err != nil {
				return err
			}
		}
		return nil
	})
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
