package scan

import "testing"

// TestCounterReused: a counter fitted again after counting another set
// of probes (of more addresses and higher ports: its arrays are longer
// and hold that set's generation) counts a new set as a new counter
// does; so does one from the pool.
func TestCounterReused(t *testing.T) {
	probe := func(dst int32, port uint16) target {
		return target{dst: dst, port: port, proto: protoTCP, class: clsSYN}
	}
	var first, second []target
	for h := range int32(300) {
		for p := range uint16(40) {
			first = append(first, probe(h, 60000+p))
		}
	}
	for h := range int32(5) {
		for p := range uint16(3) {
			second = append(second, probe(h, 22+p))
		}
	}
	count := func(c *counter, ts []target) [4]int {
		c.reset()
		for i := range ts {
			c.add(&ts[i])
		}
		return [4]int{c.pairs, c.maxPorts, c.maxHosts, c.n}
	}
	fresh := &counter{twinSeen: map[hp]uint32{}}
	fresh.fit(5)
	want := count(fresh, second)
	if want != [4]int{15, 3, 5, 15} {
		t.Fatalf("a new counter counted %v, want 15 pairs, 3 ports, 5 hosts, 15 probes", want)
	}
	used := &counter{twinSeen: map[hp]uint32{}}
	used.fit(300)
	count(used, first)
	used.fit(5)
	if got := count(used, second); got != want {
		t.Errorf("the reused counter counted %v, a new one %v", got, want)
	}
	putCounter(used)
	pooled := getCounter(5) // the one just put back, or a new one
	if got := count(pooled, second); got != want {
		t.Errorf("a counter from the pool counted %v, a new one %v", got, want)
	}
	putCounter(pooled)
}
