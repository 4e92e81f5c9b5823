package intel

import (
	"context"
	"encoding/binary"
	"net/netip"
	"slices"
)

// u128 is an IPv6 address as two big-endian halves: half the size of a
// netip.Addr and compared with two integer comparisons.
type u128 struct{ hi, lo uint64 }

func (x u128) less(y u128) bool { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo) }

func key6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func key4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addr6(x u128) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

func addr4(x uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], x)
	return netip.AddrFrom4(b)
}

// span is one entry as read from a file: an inclusive range of one family
// and the index of its payload in the loader's own slice.
type span struct {
	start, end netip.Addr
	id         int32
}

// rangeSet is a set of disjoint inclusive ranges, sorted, each naming the
// payload id of the entry that covers it. IPv4 and IPv6 are kept apart so
// IPv4 costs 12 bytes a range.
type rangeSet struct {
	s4, e4 []uint32
	id4    []int32
	s6, e6 []u128
	id6    []int32
	// parent[id] is the id of the entry that enclosed entry id when the set
	// was built, or -1: it gives every entry covering an address (nested
	// CIDRs of a blocklist, several pulses naming the same network).
	parent []int32
}

// find returns the payload id of the innermost entry covering a, or -1.
func (t *rangeSet) find(a netip.Addr) int32 {
	id, _, _ := t.findRange(a)
	return id
}

// findRange is find that also returns the covering range. One binary
// search answers both: the last range starting at or before a covers a
// when a is not past its end.
func (t *rangeSet) findRange(a netip.Addr) (id int32, start, end netip.Addr) {
	if a.Is4() {
		x := key4(a)
		lo, hi := 0, len(t.s4) // first index with start > x
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if t.s4[m] > x {
				hi = m
			} else {
				lo = m + 1
			}
		}
		if i := lo - 1; i >= 0 && x <= t.e4[i] {
			return t.id4[i], addr4(t.s4[i]), addr4(t.e4[i])
		}
		return -1, netip.Addr{}, netip.Addr{}
	}
	x := key6(a)
	lo, hi := 0, len(t.s6)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.less(t.s6[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if i := lo - 1; i >= 0 && !t.e6[i].less(x) {
		return t.id6[i], addr6(t.s6[i]), addr6(t.e6[i])
	}
	return -1, netip.Addr{}, netip.Addr{}
}

// chain returns id and the ids of the entries enclosing it, innermost first.
func (t *rangeSet) chain(id int32) []int32 {
	var out []int32
	for n := 0; id >= 0 && n <= len(t.parent); n++ { // n bounds a corrupt cycle
		out = append(out, id)
		if t.parent == nil {
			break
		}
		id = t.parent[id]
	}
	return out
}

func (t *rangeSet) len() int { return len(t.s4) + len(t.s6) }

// buildRanges turns the entries of a file into a rangeSet. Entries may
// overlap: the innermost entry (latest start, then shortest) owns each part
// of the space, so a /24 listed inside a /16 answers with the /24 and its
// chain gives the /16. Entries of one family only, start <= end, ids in
// [0, nIDs); nIDs 0 when ids are shared (interned payloads) and parents are
// not wanted. The input slice is sorted in place. ctx is looked at every
// sortRun entries; the error is ctx's.
func buildRanges(ctx context.Context, spans []span, nIDs int) (rangeSet, error) {
	var t rangeSet
	if nIDs > 0 { // parents only for tables whose ids are one per entry
		t.parent = make([]int32, nIDs)
		for i := range t.parent {
			t.parent[i] = -1
		}
	}
	err := sortCtx(ctx, spans, func(a, b span) int {
		if c := a.start.Compare(b.start); c != 0 {
			return c
		}
		if c := b.end.Compare(a.end); c != 0 { // wider first, so it encloses
			return c
		}
		return int(a.id) - int(b.id)
	})
	if err != nil {
		return rangeSet{}, err
	}
	emit := func(id int32, from, to netip.Addr) {
		if from.Compare(to) > 0 {
			return
		}
		if from.Is4() {
			t.s4 = append(t.s4, key4(from))
			t.e4 = append(t.e4, key4(to))
			t.id4 = append(t.id4, id)
			return
		}
		t.s6 = append(t.s6, key6(from))
		t.e6 = append(t.e6, key6(to))
		t.id6 = append(t.id6, id)
	}
	var stack []span
	var cursor netip.Addr // next address not yet assigned; invalid = past the top of the space
	// pop closes the innermost open entry: the rest of it, from the cursor
	// to its end, belongs to it.
	pop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cursor.IsValid() && cursor.Compare(top.end) <= 0 {
			emit(top.id, cursor, top.end)
			cursor = top.end.Next() // invalid after the last address
		}
	}
	for i, sp := range spans {
		if i%sortRun == sortRun-1 {
			if err := ctx.Err(); err != nil {
				return rangeSet{}, err
			}
		}
		if cursor.IsValid() && cursor.Is4() != sp.start.Is4() {
			for len(stack) > 0 {
				pop()
			}
			cursor = netip.Addr{}
		}
		for len(stack) > 0 && stack[len(stack)-1].end.Compare(sp.start) < 0 {
			pop()
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if cursor.IsValid() && cursor.Compare(sp.start) < 0 {
				emit(top.id, cursor, sp.start.Prev())
			}
			if t.parent != nil {
				t.parent[sp.id] = top.id
			}
		}
		cursor = sp.start
		stack = append(stack, sp)
	}
	for len(stack) > 0 {
		pop()
	}
	return t, nil
}

// sortCtx sorts s like slices.SortFunc (the callers' orders are total, so
// equal elements are identical), looking at ctx every sortRun elements so a
// cancelled load does not finish a sort of millions of entries first: runs
// of sortRun are sorted in place, then merged pairwise through a buffer of
// len(s) (counted in entryBytes).
func sortCtx[T any](ctx context.Context, s []T, cmp func(a, b T) int) error {
	if len(s) <= sortRun {
		slices.SortFunc(s, cmp)
		return nil
	}
	for lo := 0; lo < len(s); lo += sortRun {
		if err := ctx.Err(); err != nil {
			return err
		}
		slices.SortFunc(s[lo:min(lo+sortRun, len(s))], cmp)
	}
	src, dst := s, make([]T, len(s))
	for width := sortRun; width < len(s); width *= 2 {
		for lo := 0; lo < len(s); lo += 2 * width {
			mid, hi := min(lo+width, len(s)), min(lo+2*width, len(s))
			if err := mergeCtx(ctx, src[lo:mid], src[mid:hi], dst[lo:hi], cmp); err != nil {
				return err
			}
		}
		src, dst = dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
	return nil
}

// mergeCtx merges the sorted runs a and b into out (len(a)+len(b)).
func mergeCtx[T any](ctx context.Context, a, b, out []T, cmp func(a, b T) int) error {
	i, j := 0, 0
	for k := range out {
		if k%sortRun == sortRun-1 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if j == len(b) || (i < len(a) && cmp(a[i], b[j]) <= 0) {
			out[k] = a[i]
			i++
		} else {
			out[k] = b[j]
			j++
		}
	}
	return nil
}
