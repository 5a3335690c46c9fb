package cluster

import (
	"regexp"
	"strings"
	"testing"
)

// Every prelude function a composed script calls is defined above the
// script's body, and the ones it never calls are left out.
func TestComposeKeepsWhatScriptsCall(t *testing.T) {
	chunks := preludeChunks()
	if len(chunks) < 20 || chunks[0].name != "" || !strings.Contains(chunks[0].text, "local P = ARGV[1]") {
		t.Fatalf("prelude split wrong: %d chunks, header %q", len(chunks), chunks[0].text)
	}
	for _, n := range []string{"join", "tick", "restore", "audit", "leave", "batch"} {
		var s string
		if n == "batch" {
			s = batchSource()
		} else {
			s = compose(chunks, luaFile(n))
		}
		for _, c := range chunks[1:] {
			def := "local function " + c.name + "("
			called := regexp.MustCompile(`\b`+c.name+`\(`).FindAllStringIndex(s, -1)
			d := strings.Index(s, def)
			if d < 0 && len(called) > 0 {
				t.Errorf("%s calls %s, not defined", n, c.name)
			}
			if d >= 0 && len(called) < 2 {
				t.Errorf("%s defines %s, never called", n, c.name)
			}
		}
	}
	fin, _ := luaFS.ReadFile("lua/finish.lua")
	if s := compose(chunks, string(fin)); strings.Contains(s, "reapNode") || !strings.Contains(s, "local function dropCall(") {
		t.Error("finish: composed with the wrong functions")
	}
}
