package pg_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
)

// Routing writes notify nwayacd_config tagged with the writing store's
// origin, so that other nodes resync and the writer skips its own echo.
func TestRoutingNotifies(t *testing.T) {
	s, dsn := migrated(t)
	ctx := testCtx(t)
	if err := s.UpsertGroup(ctx, store.Group{Number: "110", Name: "110", Mode: 9}); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	if _, err := c.Exec(ctx, "LISTEN "+pg.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	next := func() []string {
		t.Helper()
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(n.Payload)
	}
	other := pg.New(s.Pool())
	var origins []string
	for _, w := range []struct {
		table string
		write func() error
	}{
		{"nwayacd_skill", func() error { return s.PutSkill(ctx, store.Skill{Ext: "1000", Name: "zh", Level: 3}) }},
		{"nwayacd_member_config", func() error {
			return s.PutMemberConfig(ctx, store.MemberConfig{Ext: "1000", Group: "110", Tier: 2, Weight: 1})
		}},
		{"nwayacd_group_option", func() error { return s.PutGroupOptions(ctx, store.GroupOptions{Group: "110", ExitKey: "#"}) }},
		{"nwayacd_skill", func() error { return other.PutSkill(ctx, store.Skill{Ext: "1000", Name: "en", Level: 2}) }},
	} {
		if err := w.write(); err != nil {
			t.Fatal(err)
		}
		p := next()
		if len(p) != 3 || p[0] != w.table || p[2] == "" {
			t.Fatalf("notification %q, want %s <op> <origin>", p, w.table)
		}
		origins = append(origins, p[2])
	}
	if origins[0] != origins[1] || origins[1] != origins[2] || origins[3] == origins[0] {
		t.Fatalf("origins %q: want this store's three, then another's", origins)
	}
}
