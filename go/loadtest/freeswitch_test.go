package loadtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCLI writes an fs_cli stand-in that logs every command to a file,
// answers conf_dir with dir, and fails the one command named by fail.
func fakeCLI(t *testing.T, dir, fail string) (cli, log string) {
	t.Helper()
	log = filepath.Join(dir, "commands.log")
	cli = filepath.Join(dir, "fs_cli")
	script := `#!/bin/sh
cmd="$2"
echo "$cmd" >> '` + log + `'
case "$cmd" in
"global_getvar conf_dir") echo '` + dir + `' ;;
'` + fail + `') echo "-ERR journal sync: context deadline exceeded" ;;
*) echo "+OK" ;;
esac
`
	if err := os.WriteFile(cli, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "dialplan", "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	return cli, log
}

func TestConfigureFailingMidwayRemovesWhatItAdded(t *testing.T) {
	dir := t.TempDir()
	cli, log := fakeCLI(t, dir, "nway_set_ext_dialstring 7001 sofia/external/7001@127.0.0.1:5090")
	sw := &Switch{CLI: cli}
	if _, err := Configure(context.Background(), sw, "external", "9990", "support@default", 7000, 3, 5090); err == nil {
		t.Fatal("Configure succeeded although a command failed")
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	cmds := string(b)
	for _, want := range []string{"nway_rm_ext 7000\n", "nway_rm_ext 7001\n", "nway_rm_group 9990\n"} {
		if !strings.Contains(cmds, want) {
			t.Fatalf("teardown did not run %q; commands:\n%s", strings.TrimSpace(want), cmds)
		}
	}
	if strings.Contains(cmds, "nway_add_ext 7002") {
		t.Fatalf("went on after the failure:\n%s", cmds)
	}
	if _, err := os.Stat(filepath.Join(dir, "dialplan", "public", "00_nwayacd_load.xml")); !os.IsNotExist(err) {
		t.Fatalf("dialplan left behind: %v", err)
	}
}

// A group and an extension left by a run killed before its teardown are
// not "no module" nor a failure: they are removed and made afresh.
func TestConfigureReplacesALeftoverGroup(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "commands.log")
	cli := filepath.Join(dir, "fs_cli")
	script := `#!/bin/sh
cmd="$2"
echo "$cmd" >> '` + log + `'
case "$cmd" in
"global_getvar conf_dir") echo '` + dir + `' ;;
"nway_add_group 9990 2")
	if [ -e '` + dir + `/removed' ]; then echo "+OK group 9990 added"; else echo "-ERR group 9990 exists"; fi ;;
"nway_rm_group 9990") touch '` + dir + `/removed'; echo "+OK group 9990 removed" ;;
"nway_add_ext 7001 7001")
	if [ -e '` + dir + `/removed7001' ]; then echo "+OK"; else echo "-ERR extension 7001 exists"; fi ;;
"nway_rm_ext 7001") touch '` + dir + `/removed7001'; echo "+OK" ;;
*) echo "+OK" ;;
esac
`
	if err := os.WriteFile(cli, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "dialplan", "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := Configure(context.Background(), &Switch{CLI: cli}, "external", "9990", "support@default", 7000, 2, 5090)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Teardown(context.Background())
	if !st.ACD {
		t.Fatal("a leftover group was taken for a missing module")
	}
	b, _ := os.ReadFile(log)
	for _, want := range []string{"nway_rm_group 9990\nnway_add_group 9990 2\n", "nway_logout 7001\nnway_rm_ext 7001\nnway_add_ext 7001 7001\n"} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("a leftover was not replaced (%q); commands:\n%s", want, b)
		}
	}
}

func TestParseGroupOptions(t *testing.T) {
	got, err := ParseGroupOptions(" ring_wait=20, max_waiting=5 ,")
	if err != nil || len(got) != 2 || got[0] != [2]string{"ring_wait", "20"} || got[1] != [2]string{"max_waiting", "5"} {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := ParseGroupOptions(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v, %v", got, err)
	}
	// one word each: nothing may become a second argument
	for _, bad := range []string{"ring_wait", "=20", "ring_wait=", "ring_wait=2 0", "a\tb=1", "ring_wait=20;;reloadxml",
		"ring_wait=20\nreloadxml", "ring_wait=2\r0", "Ring_wait=1", "ring_wait=${x}", "ring_wait=$$x"} {
		if _, err := ParseGroupOptions(bad); err == nil {
			t.Errorf("%q was taken", bad)
		}
	}
}

// The callcenter profile's set-up loads mod_callcenter, its queue and the
// agents; a failing step stops it, and Teardown removes every agent and
// tier it added, the queue, and the module it loaded.
func TestCallcenterSetupFailingMidwayIsUndone(t *testing.T) {
	dir := t.TempDir()
	cli, log := fakeCLI(t, dir, "callcenter_config agent set status nwayload_7001 Available")
	sw := &Switch{CLI: cli}
	st, err := Configure(context.Background(), sw, "external", "9990", "support@default", 7000, 3, 5090)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetupCallcenter(context.Background(), "external", "support@default", 7000, 3, 5090); err == nil {
		t.Fatal("SetupCallcenter succeeded although a command failed")
	}
	st.Teardown(context.Background())
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	cmds := string(b)
	for _, want := range []string{
		"load mod_callcenter\n", // module_exists did not say "true"
		"callcenter_config queue load support@default\n",
		"callcenter_config agent set contact nwayload_7000 sofia/external/7000@127.0.0.1:5090\n",
		"callcenter_config tier add support@default nwayload_7000 1 1\n",
		"callcenter_config tier del support@default nwayload_7000\n",
		"callcenter_config agent del nwayload_7000\n",
		"callcenter_config agent del nwayload_7001\n",
		"callcenter_config queue unload support@default\n",
		"unload mod_callcenter\n",
	} {
		if !strings.Contains(cmds, want) {
			t.Fatalf("missing %q; commands:\n%s", strings.TrimSpace(want), cmds)
		}
	}
	if strings.Contains(cmds, "nwayload_7002") {
		t.Fatalf("went on after the failure:\n%s", cmds)
	}
}

// A queue name is one argument of one fs_cli command: nothing that would
// split it (a blank, ";;") or reach a second command is taken.
func TestConfigureRefusesAQueueNameThatIsNotOne(t *testing.T) {
	dir := t.TempDir()
	cli, log := fakeCLI(t, dir, "")
	for _, q := range []string{"support", "support@default;;shutdown", "support@default x", "a@b@c", "@default", "support@", "sup\nport@default"} {
		if _, err := Configure(context.Background(), &Switch{CLI: cli}, "external", "9990", q, 7000, 1, 5090); err == nil {
			t.Errorf("queue %q was taken", q)
		}
	}
	if b, _ := os.ReadFile(log); len(b) > 0 {
		t.Errorf("commands ran for a refused queue:\n%s", b)
	}
}

func TestExtStatesAndUnready(t *testing.T) {
	list := "extension\tjob_number\tjob_enabled\treg_state\tseat_status\tcall_state\tlogged_in\tgroups\tlast_change\n" +
		"7000\t\ttrue\treged\tidle\tno_ready\ttrue\t9990\t2026-12-02 06:49:23\n" +
		"7001\t\ttrue\treged\tidle\tready\ttrue\t9990\t2026-12-02 06:49:23\n" +
		"7002\t\ttrue\treged\tidle\ttyping\ttrue\t9990\t2026-12-02 06:49:23\r\n" +
		"1018\t\ttrue\treged\tidle\tno_ready\ttrue\t110\t2026-12-02 06:49:23\n" + // not the harness's
		"7003\tshort\n"
	m := extStates(list, []string{"7000", "7001", "7002", "7003"})
	if len(m) != 3 || m["no_ready"] != 1 || m["ready"] != 1 || m["typing"] != 1 {
		t.Fatalf("states %v", m)
	}
	if u := Unready(m); u != "no_ready 1" {
		t.Fatalf("unready %q (wrap-up ends by itself; another's agent is not ours)", u)
	}
	if u := Unready(map[string]int{"ready": 200}); u != "" {
		t.Fatalf("all ready: %q", u)
	}
	if u := Unready(map[string]int{"talking": 1, "no_answer": 2, "ready": 3}); u != "no_answer 2, talking 1" {
		t.Fatalf("unready %q", u)
	}
}
