package node

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// routingCommands sets issue 12's settings through the console.
func routingCommands(t *testing.T, n *Node) {
	t.Helper()
	cmd(t, n, "nway_add_group", "110 11")
	cmd(t, n, "nway_add_group", "120 9")
	cmd(t, n, "nway_add_ext", "1000 1234")
	cmd(t, n, "nway_login", "1000 110,120")
	cmd(t, n, "nway_set_tier", "1000 110 3")
	cmd(t, n, "nway_set_weight", "1000 120 40")
	cmd(t, n, "nway_set_skill", "1000 zh 7")
	cmd(t, n, "nway_set_group", "110 exit_key #")
	cmd(t, n, "nway_set_group", "110 skills zh:5")
	cmd(t, n, "nway_set_group", "110 tier_wait 20")
	cmd(t, n, "nway_set_group", "120 overflow 110")
}

func checkRouting(t *testing.T, n *Node) {
	t.Helper()
	g, err := n.Service.Group("110")
	if err != nil || g.Mode != acd.ModeBestSkill || g.Options.ExitKey != "#" || acd.FormatSkills(g.Options.Skills) != "zh:5" ||
		g.Options.TierWait != 20*time.Second || !reflect.DeepEqual(g.Memberships, []acd.Membership{{Extension: "1000", Tier: 3, Weight: 1}}) {
		t.Fatalf("group 110: %+v %v", g, err)
	}
	g, _ = n.Service.Group("120")
	if g.Mode != acd.ModeRingAll || g.Options.OverflowGroup != "110" ||
		!reflect.DeepEqual(g.Memberships, []acd.Membership{{Extension: "1000", Tier: 1, Weight: 40}}) {
		t.Fatalf("group 120: %+v", g)
	}
	x, _ := n.Service.Extension("1000")
	if !reflect.DeepEqual(x.Skills, []acd.SkillReq{{Name: "zh", Level: 7}}) {
		t.Fatalf("skills %+v", x.Skills)
	}
}

// Routing settings made through commands survive a restart (embedded store,
// the journal replayed onto the loaded snapshot).
func TestRoutingSurvivesRestart(t *testing.T) {
	p := params(t, nil)
	n := start(t, p)
	routingCommands(t, n)
	checkRouting(t, n)
	n.Stop()
	n = start(t, p)
	defer n.Stop()
	checkRouting(t, n)
}

// With PostgreSQL: the settings reach the tables, survive a restart, and
// another node's (an operator's) edit reaches the running node.
func TestRoutingPostgres(t *testing.T) {
	ctx := context.Background()
	_, dsn := pgtest.DB(t)
	p := params(t, map[string]string{"db-dsn": dsn})
	n := start(t, p)
	routingCommands(t, n)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	waitFor(t, "the routing rows", func() bool {
		var tier, level int
		var key string
		e1 := conn.QueryRow(ctx, "SELECT tier FROM nwayacd_member_config WHERE ext='1000' AND group_number='110'").Scan(&tier)
		e2 := conn.QueryRow(ctx, "SELECT level FROM nwayacd_skill WHERE ext='1000' AND skill='zh'").Scan(&level)
		e3 := conn.QueryRow(ctx, "SELECT exit_key FROM nwayacd_group_option WHERE group_number='110'").Scan(&key)
		return e1 == nil && e2 == nil && e3 == nil && tier == 3 && level == 7 && key == "#"
	})
	n.Stop()
	n = start(t, p)
	defer n.Stop()
	checkRouting(t, n)
	// An operator gives 1000 another skill and moves it to tier 2.
	pgExec(ctx, t, conn,
		"INSERT INTO nwayacd_skill (ext, skill, level) VALUES ('1000', 'en', 4)",
		"UPDATE nwayacd_member_config SET tier = 2 WHERE ext='1000' AND group_number='110'")
	waitFor(t, "the operator's edits in the running node", func() bool {
		x, _ := n.Service.Extension("1000")
		g, _ := n.Service.Group("110")
		return len(x.Skills) == 2 && len(g.Memberships) == 1 && g.Memberships[0].Tier == 2
	})
}
