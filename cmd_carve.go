package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"porthunter/capture"
	"porthunter/policy"
)

// cmdCarve is `porthunter carve FILE --ip ADDR -o OUT.pcapng`: every packet
// to or from ADDR, and every ICMP error quoting a datagram to or from ADDR
// (the answers its probes drew, often sent by a router to the prober), into
// a new pcapng file that Wireshark opens. OUT is created and never
// overwritten; on any error the partial file is removed.
//
// Packets keep their bytes, lengths, link type and timestamp; their
// interfaces keep link type, snaplen and name. Not copied: packet options
// (comments, flags), name resolution, statistics and custom blocks. A
// Simple Packet Block has no timestamp; its packet is written at 0 (1970),
// the Record.Timestamp the reader gives it. A kept packet whose timestamp
// pcapng.Writer cannot write exactly (before 1970, or after 2262 where
// the reader saturates) fails the carve.
func cmdCarve(ctx context.Context, cfg policy.Config, args []string, _, stderr io.Writer, getenv func(string) string) error {
	fl := newFlagSet("carve")
	o := carveFlags(fl)
	files, err := parseInterleaved(fl, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageErrorf("carve takes exactly one FILE")
	}
	if o.out == "" {
		return usageErrorf("carve: -o OUT.pcapng is required")
	}
	ip, err := netip.ParseAddr(o.ip)
	if err != nil {
		return usageErrorf("carve: --ip %q is not an IP address", o.ip)
	}
	addr := unmapAddr(ip)

	in, err := openCaptureCLI(files[0])
	if err != nil {
		return err
	}
	defer in.Close()
	bar := newProgress(stderr, termEscape("carving "+filepath.Base(files[0]), false), reportWidth(0, getenv))
	res, err := carveToFile(ctx, cfg, in, o.out, addr, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "carved %d of %d packets to %s\n", res.Kept, res.Read, termEscape(o.out, false))
	return nil
}

const carveHelp = `Keeps every packet to or from ADDR, and every ICMP error quoting one, with its
bytes, lengths, link type and timestamp. OUT is created, never overwritten, and
removed again if the carve fails. On a terminal, a progress bar on stderr.`

// carveOpts are carve's flags.
type carveOpts struct{ ip, out string }

// carveFlags defines carve's flags on fl.
func carveFlags(fl *flag.FlagSet) *carveOpts {
	o := &carveOpts{}
	fl.StringVar(&o.ip, "ip", "", "address whose packets are kept (IPv4 or IPv6)")
	fl.StringVar(&o.out, "o", "", "pcapng file to create (must not exist)")
	return o
}

// carveToFile creates out (O_EXCL: an existing file, or a symbolic link
// planted there, is refused rather than clobbered) and carves in into it
// (carveInto). The file is synced before it is reported written, and
// removed on error so that no half-written capture is left looking like
// evidence.
func carveToFile(ctx context.Context, cfg policy.Config, in *policy.File, out string, addr netip.Addr, progress func(done, total int64)) (capture.CarveResult, error) {
	// 0o666 before the umask, as tcpdump -w and Wireshark create captures.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return capture.CarveResult{}, fmt.Errorf("carve: %s already exists; choose another -o", out)
		}
		return capture.CarveResult{}, fmt.Errorf("carve: %w", err)
	}
	res, err := carveInto(ctx, cfg, in, f, addr, progress)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return capture.CarveResult{}, fmt.Errorf("carve: %s not written: %w", out, err)
	}
	return res, nil
}

// carveInto writes the packets of in that involve addr (normalized:
// unmapAddr) to dst as pcapng: the carve tool's carve (capture.CarveFiles),
// with the command line's own choices. The section header names
// porthunter and its version. Neither the records read nor the bytes
// written are bounded: the analyst named the file and the output, and a
// carve streams in constant memory. A capture that breaks after its
// first record fails the carve, where the tool carves up to the break and
// says so in its answer: the command has no answer beside the file to
// say it in.
func carveInto(ctx context.Context, cfg policy.Config, in *policy.File, dst io.Writer, addr netip.Addr, progress func(done, total int64)) (capture.CarveResult, error) {
	opt := capture.CarveOptions{UserAppl: "porthunter " + version, Progress: progress}
	res, err := capture.CarveFiles(ctx, cfg, []*policy.File{in}, addr, dst, opt)
	if err == nil && res.Truncated != nil {
		err = errors.New(res.Truncated.Reason)
	}
	return res, err
}

// unmapAddr is an address as captures carry it: no zone, IPv4-mapped IPv6
// unmapped (as the tools normalize theirs).
func unmapAddr(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }
