package scan

import "reflect"

// Sizes of the records an Analysis holds, in bytes, as the compiler lays
// them out (reflect, since product code does not import unsafe).
var (
	sizeAnalysis  = int64(reflect.TypeFor[Analysis]().Size())
	sizeIPAddr    = int64(reflect.TypeFor[ipAddr]().Size())
	sizeSrcResult = int64(reflect.TypeFor[srcResult]().Size())
	sizeTarget    = int64(reflect.TypeFor[target]().Size())
	sizeEpisode   = int64(reflect.TypeFor[episode]().Size())
	sizeTool      = int64(reflect.TypeFor[Tool]().Size())
	sizeVerdict   = int64(reflect.TypeFor[verdict]().Size())
	sizeDistGroup = int64(reflect.TypeFor[distGroup]().Size())
	sizeDecoy     = int64(reflect.TypeFor[decoySet]().Size())
	sizeMonitor   = int64(reflect.TypeFor[Monitoring]().Size())
)

// RetainedBytes estimates the heap an Analysis keeps alive, from the
// lengths of the arrays it holds: what dropping it frees, and what a cache
// of analyses must count against a memory budget. It leaves out the
// allocator's rounding and what the Analysis shares with others (nothing,
// today), so it is within a small factor of runtime.MemStats' figure
// (TestRetainedBytes). It walks the sources once: O(sources).
func (an *Analysis) RetainedBytes() int64 {
	n := sizeAnalysis
	n += int64(len(an.addrs))*sizeIPAddr + 4*int64(len(an.srcOf))
	n += int64(len(an.sources)) * sizeSrcResult
	// Every source's probes are a part of one array of all the targets
	// tracked, which stays whole as long as any part is used.
	n += int64(an.stats.Targets) * sizeTarget
	for i := range an.answers {
		n += an.answers[i].bytes()
	}
	for i := range an.sources {
		r := &an.sources[i]
		n += 8*int64(len(r.succTS)) + sizeEpisode*int64(len(r.episodes))
		if r.monitor != nil {
			n += sizeMonitor
		}
		if r.tool != nil {
			n += sizeTool + 16*int64(len(r.tool.Evidence))
			for _, e := range r.tool.Evidence {
				n += int64(len(e))
			}
		}
	}
	n += 4 * int64(len(an.hostOff)+len(an.hostSrc)+len(an.hosts))
	if vs := an.defaults; vs != nil {
		n += 8*int64(len(vs.list)+len(vs.by)) + sizeVerdict*int64(len(vs.list))
		for _, g := range vs.groups {
			n += sizeDistGroup + 4*int64(len(g.members))
		}
	}
	for _, g := range an.decoys {
		n += sizeDecoy + 4*int64(len(g.members)+len(g.targets))
	}
	n += 4 * int64(len(an.decoyOf))
	if h := an.heavy; h != nil {
		n += h.bytes()
	}
	return n
}
