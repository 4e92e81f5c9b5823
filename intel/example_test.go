package intel_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing/fstest"

	"porthunter/intel"
)

func ExampleClassify() {
	for _, s := range []string{"8.8.8.8", "::ffff:10.1.2.3", "100.64.1.1", "2001:db8::1", "192.0.0.9", "fe80::1%eth0", "010.0.0.1"} {
		a, err := intel.ParseIP(s)
		if err != nil {
			fmt.Printf("%-16s invalid_ip\n", s)
			continue
		}
		category, special := intel.Classify(a)
		fmt.Printf("%-16s %-14s %-12s special=%v\n", s, a, category, special)
	}
	// Output:
	// 8.8.8.8          8.8.8.8        public       special=false
	// ::ffff:10.1.2.3  10.1.2.3       private      special=true
	// 100.64.1.1       100.64.1.1     cgnat        special=true
	// 2001:db8::1      2001:db8::1    documentation special=true
	// 192.0.0.9        192.0.0.9      public       special=false
	// fe80::1%eth0     fe80::1        link_local   special=true
	// 010.0.0.1        invalid_ip
}

func ExampleDB_Enrich() {
	dir := fstest.MapFS{
		"ip2asn-v4.tsv": {Data: []byte("# SYNTHETIC TEST DATA\n31.0.4.0\t31.0.7.255\t64500\tFR\tEXAMPLE-AS-2 Example Two Ltd\n")},
		"drop_v4.json":  {Data: []byte(`{"cidr":"31.0.4.0/24","sblid":"SBL000002"}` + "\n")},
	}
	db, err := intel.Open(context.Background(), intel.Options{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := db.Enrich(context.Background(), netip.MustParseAddr("31.0.4.7"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*e.ASN, *e.Org, e.Network.CIDRs[0])
	fmt.Println(e.Threat.Listed, e.Threat.Blocklists[0].List, *e.Threat.Blocklists[0].Ref)
	for _, s := range e.Sources {
		fmt.Println(s.Provider, s.Status, s.Fields)
	}
	// Output:
	// AS64500 EXAMPLE-AS-2 Example Two Ltd 31.0.4.0/22
	// true spamhaus_drop SBL000002
	// ip2asn ok [asn org network geo.country]
	// list:spamhaus_drop ok [threat.blocklists]
	// otx disabled []
	// greynoise disabled []
}
