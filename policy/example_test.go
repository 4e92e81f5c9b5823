package policy_test

import (
	"fmt"

	"porthunter/policy"
)

func ExampleLoadConfig() {
	env := map[string]string{
		"PORT_HUNTER_TOKEN":         "correct horse",
		"PORT_HUNTER_MAX_PCAP_MB":   "10",
		"PORT_HUNTER_ONLINE":        "yes",
		"PORT_HUNTER_GREYNOISE_KEY": "gn-secret",
	}
	c, err := policy.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.MaxPcapBytes)
	fmt.Println(c)
	fmt.Println(policy.CheckToken(c.Token, "correct horse"))
	fmt.Println(policy.CheckToken(c.Token, "wrong"))

	_, err = policy.LoadConfig(func(k string) string {
		if k == "PORT_HUNTER_REQUIRE_TOKEN" {
			return "maybe"
		}
		return ""
	})
	fmt.Println(err)
	// Output:
	// 10485760
	// token=set require_token=true allowed_dir="." max_pcap_mb=10 allow_private=false intel_dir=unset online=true otx_key=unset greynoise_key=set max_concurrent_analyses=2 call_timeout=5m0s memory_budget_mb=1024 evidence_dir=unset max_set_files=64 max_packets=100000000 home_nets=default known_scanners=unset darknets=0
	// <nil>
	// policy: auth_token missing or wrong
	// policy: invalid configuration: PORT_HUNTER_REQUIRE_TOKEN="maybe" is not a boolean (true/false/1/0/yes/no)
}
