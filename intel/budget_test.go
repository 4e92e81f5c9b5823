package intel

import (
	"net/netip"
	"testing"
	"unsafe"
)

// TestBudgetSizes: the sizes the budget charges are the structures' own
// (unsafe is allowed in tests only, so the product carries constants).
func TestBudgetSizes(t *testing.T) {
	cases := []struct {
		name      string
		got, want uintptr
	}{
		{"span", spanBytes, unsafe.Sizeof(span{})},
		{"asnFact", asnFactBytes, unsafe.Sizeof(asnFact{})},
		{"rirFact", rirFactBytes, unsafe.Sizeof(rirFact{})},
		{"geoKey", geoKeyBytes, unsafe.Sizeof(geoKey{})},
		{"geoFact", geoFactBytes, unsafe.Sizeof(geoFact{})},
		{"listEntry", listEntryBytes, unsafe.Sizeof(listEntry{})},
		{"otxPulse", otxPulseBytes, unsafe.Sizeof(otxPulse{})},
		{"otxPair", otxPairBytes, unsafe.Sizeof(otxPair{})},
		{"gnRecord", gnRecordBytes, unsafe.Sizeof(gnRecord{})},
		{"netip.Addr", addrBytes, unsafe.Sizeof(netip.Addr{})},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: charged %d bytes, the struct has %d", c.name, c.got, c.want)
		}
	}
	if worst := 2*spanBytes + 2*(16+16+4) + 4; entryBytes < worst {
		t.Errorf("entryBytes %d is below a span twice and two IPv6 ranges (%d)", entryBytes, worst)
	}
}
