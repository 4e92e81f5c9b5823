package scan

import (
	"math/rand/v2"
	"testing"
)

// TestTargetTable checks the target table against a Go map over
// keys that make it grow many times, with look-ups of present and absent
// keys after every growth.
func TestTargetTable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 100_000
	var (
		tt  targetTable
		tl  targetList // the targets tt indexes: tt confirms a key on them
		mt  = map[targetKey]int32{}
		kts []targetKey
	)
	for i := range int32(n) {
		kt := targetKey{int32(r.IntN(300)), int32(r.IntN(300)), uint16(r.IntN(4)), uint8(r.IntN(2))}
		if _, ok := mt[kt]; !ok {
			j := int32(tl.n)
			*tl.push() = target{src: kt.src, dst: kt.dst, port: kt.port, proto: kt.proto}
			tt.put(kt, j)
			mt[kt] = j
			kts = append(kts, kt)
		}
		if i&(i-1) == 0 { // powers of two: look everything up
			for _, k := range kts {
				if id, ok := tt.get(k, &tl); !ok || id != mt[k] {
					t.Fatalf("targetTable.get(%+v) = %d, %v; want %d", k, id, ok, mt[k])
				}
			}
		}
	}
	if tt.n != len(mt) {
		t.Fatalf("entries %d, want %d", tt.n, len(mt))
	}
	for range n {
		if _, ok := tt.get(targetKey{int32(300 + r.IntN(300)), 0, 0, 0}, &tl); ok {
			t.Fatal("targetTable.get found an absent key")
		}
	}
}

// TestTargetTableConfirmsKey checks that a slot whose hash matches is taken
// only for the key of its target: the table keeps 32 bits of each key's
// hash, not the key.
func TestTargetTableConfirmsKey(t *testing.T) {
	var tt targetTable
	var tl targetList
	a, b := targetKey{1, 2, 80, protoTCP}, targetKey{1, 2, 81, protoTCP}
	*tl.push() = target{src: a.src, dst: a.dst, port: a.port, proto: a.proto}
	*tl.push() = target{src: b.src, dst: b.dst, port: b.port, proto: b.proto}
	tt.put(a, 0)
	// A slot with b's hash that points at a's target, as a collision of
	// hashes would leave it: b must not be found there.
	tt.insert(slotT{hashT(b, tt.seed), 1})
	tt.n++
	if i, ok := tt.get(b, &tl); ok {
		t.Fatalf("get(b) = %d: a slot of b's hash on a's target was taken for b", i)
	}
	if i, ok := tt.get(a, &tl); !ok || i != 0 {
		t.Fatalf("get(a) = %d, %v; want 0, true", i, ok)
	}
	tt.put(b, 1)
	if i, ok := tt.get(b, &tl); !ok || i != 1 {
		t.Fatalf("get(b) = %d, %v; want 1, true", i, ok)
	}
}

// BenchmarkTargetTable puts a million new keys in an empty table, growing
// it from the smallest size as the aggregator does, then looks each up.
func BenchmarkTargetTable(b *testing.B) {
	const n = 1 << 20
	keys := make([]targetKey, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range keys {
		keys[i] = targetKey{int32(r.IntN(1000)), int32(i), uint16(r.IntN(65536)), protoTCP}
	}
	var l targetList
	for _, k := range keys {
		*l.push() = target{src: k.src, dst: k.dst, port: k.port, proto: k.proto}
	}
	for b.Loop() {
		var t targetTable
		for i, k := range keys {
			t.put(k, int32(i))
		}
		for _, k := range keys {
			if _, ok := t.get(k, &l); !ok {
				b.Fatal("key lost")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}
