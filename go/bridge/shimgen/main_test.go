package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/bridge"
	"github.com/nwayacd/mod_nwayacd/go/console"
)

// The committed header is what the Go tables generate today.
func TestHeaderIsCurrent(t *testing.T) {
	want, err := render(console.Commands(), bridge.Applications, bridge.EventBindings)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../../include/nwayacd_commands.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("include/nwayacd_commands.h is stale: run `go generate ./go/bridge/` and commit it")
	}
}

func TestCStr(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:        `"plain"`,
		`say "hi" \ ?`: `"say \"hi\" \\ \?"`,
		``:             `""`,
	} {
		if got, err := cstr(in); err != nil || got != want {
			t.Errorf("cstr(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"a\nb", "tab\there", "é", "nul\x00"} {
		if _, err := cstr(bad); err == nil {
			t.Errorf("cstr(%q) accepted", bad)
		}
	}
}

func TestRenderRefusesWhatCCannotCarry(t *testing.T) {
	ok := console.Command{Name: "nway_x", Syntax: "nway_x <a>", Description: "d"}
	for name, cmds := range map[string][]console.Command{
		"name not an identifier": {{Name: "nway-x", Syntax: "nway-x", Description: "d"}},
		"syntax without name":    {{Name: "nway_x", Syntax: "<a>", Description: "d"}},
		"newline in description": {{Name: "nway_x", Syntax: "nway_x", Description: "a\nb"}},
		"foreign completion":     {{Name: "nway_x", Syntax: "nway_x", Description: "d", Completions: []string{"uuid_kill x"}}},
		"unknown list":           {{Name: "nway_x", Syntax: "nway_x", Description: "d", Completions: []string{"nway_x ::nwayacd::list_cats"}}},
	} {
		if _, err := render(cmds, nil, nil); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
	b, err := render([]console.Command{ok}, nil, nil)
	if err != nil || !strings.Contains(string(b), `X(nway_x, "nway_x", "<a>", "d")`) {
		t.Errorf("render = %s, %v", b, err)
	}
}
