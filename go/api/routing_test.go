package api

import (
	"reflect"
	"strings"
	"testing"
)

func TestRoutingEndpoints(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	tok := "Nway " + ts.login(t)
	ts.fake.Calls()
	okCases := []struct{ path, body, call string }{
		{"/api/tier", `{"Extension":"1001","Group":"110","Tier":3}`, "SetTier 1001 110 3"},
		{"/api/tier", `{"Extension":"1001","Group":"110","Weight":1000}`, "SetWeight 1001 110 1000"},
		{"/api/skill", `{"Extension":"1002","Skill":"zh","Level":5}`, "SetSkill 1002 zh 5"},
		{"/api/skill", `{"extension":"1002","skill":"en","level":10}`, "SetSkill 1002 en 10"},
		{"/api/skill_remove", `{"Extension":"1002","Skill":"en"}`, "RemoveSkill 1002 en"},
		{"/api/group_option", `{"Group":"110","Option":"mode","Value":9}`, "SetGroupMode 110 9"},
		{"/api/group_option", `{"Group":"110","Option":"mode","Value":"11"}`, "SetGroupMode 110 11"},
		{"/api/group_option", `{"Group":"110","Option":"exit_key","Value":"#"}`, "SetGroupOptions 110 exit_key=#"},
		{"/api/group_option", `{"Group":"110","Option":"tier_wait","Value":20}`, "SetGroupOptions 110 tier_wait=20 exit_key=#"},
		{"/api/group_option", `{"Group":"110","Option":"announce","Value":true}`, "SetGroupOptions 110 tier_wait=20 exit_key=# announce=true"},
		{"/api/group_option", `{"Group":"110","Option":"skills","Value":"zh:5,billing:3"}`, "SetGroupOptions 110 tier_wait=20 skills=zh:5,billing:3 exit_key=# announce=true"},
	}
	for _, c := range okCases {
		r := ts.do(t, "POST", c.path, tok, c.body)
		if r.status != 200 || r.body != `{"result":"ok"}` {
			t.Fatalf("%s %s: %d %s", c.path, c.body, r.status, r.body)
		}
		if calls := ts.fake.Calls(); !reflect.DeepEqual(calls, []string{c.call}) {
			t.Fatalf("%s %s: calls %q, want %q", c.path, c.body, calls, c.call)
		}
	}
	// Refusals name the problem and never reach the service.
	bad := []struct{ path, body, msg string }{
		{"/api/tier", `{"Extension":"1001","Group":"110"}`, "missing Tier"},
		{"/api/tier", `{"Extension":"1001","Group":"110","Tier":10}`, "bad Tier 10 (1-9)"},
		{"/api/tier", `{"Extension":"1001","Group":"110","Tier":0}`, "bad Tier 0"},
		{"/api/tier", `{"Extension":"1001","Group":"110","Weight":1001}`, "bad Weight 1001"},
		{"/api/tier", `{"Extension":"1001","Group":"a/b","Tier":1}`, "Group:"},
		{"/api/tier", `{"Extension":"1001","Tier":1}`, "missing Group"},
		{"/api/tier", `{"Extension":"1001","Group":"110","Tier":"2"}`, "field Tier must be a int"},
		{"/api/skill", `{"Extension":"1002","Skill":"z h","Level":5}`, "Skill:"},
		{"/api/skill", `{"Extension":"1002","Skill":"zh","Level":11}`, "bad Level 11 (1-10)"},
		{"/api/skill", `{"Extension":"1002","Skill":"zh"}`, "bad Level 0"},
		{"/api/skill_remove", `{"Extension":"1002"}`, "missing Skill"},
		{"/api/group_option", `{"Group":"110","Option":"mode","Value":12}`, "bad mode"},
		{"/api/group_option", `{"Group":"110","Option":"mode","Value":"x"}`, "bad mode"},
		{"/api/group_option", `{"Group":"110","Option":"exit_key","Value":"##"}`, "bad exit_key"},
		{"/api/group_option", `{"Group":"110","Option":"tier_wait","Value":-1}`, "bad tier_wait"},
		{"/api/group_option", `{"Group":"110","Option":"colour","Value":"red"}`, `unknown Option \"colour\" (mode, memory_first,`},
		{"/api/group_option", `{"Group":"110","Option":"exit_key"}`, "missing Value"},
		{"/api/group_option", `{"Group":"110","Option":"exit_key","Value":[1]}`, "Value must be a string, number or boolean"},
		{"/api/group_option", `{"Group":"110","Value":"1"}`, "missing Option"},
	}
	for _, c := range bad {
		r := ts.do(t, "POST", c.path, tok, c.body)
		if r.status != 400 || !strings.Contains(r.body, c.msg) || !strings.HasPrefix(r.body, `{"error":`) {
			t.Errorf("%s %s: %d %s, want 400 naming %q", c.path, c.body, r.status, r.body, c.msg)
		}
		if calls := ts.fake.Calls(); len(calls) != 0 {
			t.Errorf("%s %s: refused yet called %q", c.path, c.body, calls)
		}
	}
	// The service's own verdicts: unknown names 404, a clash 400.
	if r := ts.do(t, "POST", "/api/tier", tok, `{"Extension":"1001","Group":"404","Tier":1}`); r.status != 404 {
		t.Errorf("unknown group: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "POST", "/api/group_option", tok, `{"Group":"110","Option":"callback_gateway","Value":"a b"}`); r.status != 400 || !strings.Contains(r.body, "bad callback_gateway") {
		t.Errorf("callback gateway: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "POST", "/api/group_option", tok, `{"Group":"404","Option":"exit_key","Value":"#"}`); r.status != 404 {
		t.Errorf("unknown group: %d %s", r.status, r.body)
	}

	r := ts.do(t, "GET", "/api/tiers", tok, "")
	if r.status != 200 || r.body != `[{"Group":"110","Extension":"1001","Tier":3,"Weight":1000}]` {
		t.Fatalf("tiers: %d %s", r.status, r.body)
	}
	r = ts.do(t, "GET", "/api/skills", tok, "")
	if r.status != 200 || r.body != `[{"Extension":"1002","Skills":[{"Name":"zh","Level":5}]}]` {
		t.Fatalf("skills: %d %s", r.status, r.body)
	}
	r = ts.do(t, "GET", "/api/group_options", tok, "")
	if r.status != 200 || !strings.Contains(r.body, `{"Group":"110","MemoryFirst":false,"TierWait":20,"TierSkip":false,"Skills":"zh:5,billing:3",`) ||
		!strings.Contains(r.body, `"ExitKey":"#","Announce":true,`) {
		t.Fatalf("group options: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/api/tier", tok, ""); r.status != 405 {
		t.Fatalf("GET /api/tier: %d", r.status)
	}
}
