package console

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

func TestRoutingListings(t *testing.T) {
	f := newFake()
	f.groups[0].Options = acd.GroupOptions{MemoryFirst: true, TierWait: 20 * time.Second, ExitKey: "#",
		Skills: []acd.SkillReq{{Name: "zh", Level: 5}}, OverflowGroup: "120"}
	f.groups[0].Memberships = []acd.Membership{{Extension: "1000", Tier: 2, Weight: 7}}
	f.exts[0].Skills = []acd.SkillReq{{Name: "en", Level: 3}, {Name: "zh", Level: 9}}

	var opts []map[string]any
	if err := json.Unmarshal([]byte(Run(f, "nway_list_group_options", "json")), &opts); err != nil {
		t.Fatal(err)
	}
	if len(opts) != 2 || opts[0]["group"] != "110" || opts[0]["memory_first"] != true || opts[0]["tier_wait"] != 20.0 ||
		opts[0]["exit_key"] != "#" || opts[0]["skills"] != "zh:5" || opts[0]["overflow"] != "120" || opts[1]["exit_key"] != "" {
		t.Fatalf("options %v", opts)
	}
	txt := Run(f, "nway_list_group_options", "")
	if !strings.HasPrefix(txt, "group\tmemory_first\ttier_wait\t") || !strings.Contains(txt, "110\ttrue\t20\tfalse\tzh:5\t") ||
		!strings.HasSuffix(txt, "\n2 total.\n") {
		t.Fatalf("options text %q", txt)
	}
	if got := Run(f, "nway_list_tiers", "json"); got != `[{"group":"110","extension":"1000","tier":2,"weight":7}]`+"\n" {
		t.Fatalf("tiers %q", got)
	}
	if got := Run(f, "nway_list_skills", "json"); got != `[{"extension":"1000","skills":[{"name":"en","level":3},{"name":"zh","level":9}]}]`+"\n" {
		t.Fatalf("skills %q", got)
	}
	if got := Run(f, "nway_list_skills", ""); got != "extension\tskills\n1000\ten:3,zh:9\n\n1 total.\n" {
		t.Fatalf("skills text %q", got)
	}
	// A set option shows the group's resulting value (read-modify-write in the service).
	if got := Run(f, "nway_set_group", "110 tier_skip true"); got != "+OK group 110 tier_skip true\n" {
		t.Fatalf("set %q", got)
	}
	if c := f.calls[len(f.calls)-1]; !strings.Contains(c.args[1], "memory_first=true tier_wait=20 tier_skip=true skills=zh:5") {
		t.Fatalf("options kept? %v", c)
	}
}
