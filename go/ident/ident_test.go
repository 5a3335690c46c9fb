package ident_test

import (
	"errors"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nwayacd/mod_nwayacd/go/ident"
	"github.com/nwayacd/mod_nwayacd/go/ident/identtest"
	schema "github.com/nwayacd/mod_nwayacd/sql"
)

func TestDial(t *testing.T) {
	for _, s := range identtest.GoodDials {
		if err := ident.Dial(s); err != nil {
			t.Errorf("Dial(%q) = %v, want ok", s, err)
		}
	}
	for _, s := range identtest.BadDials {
		err := ident.Dial(s)
		if err == nil {
			t.Errorf("Dial(%q) accepted, want refused", s)
			continue
		}
		var ie *ident.Error
		if !errors.As(err, &ie) || ie.What != "dial string" {
			t.Errorf("Dial(%q) = %v, want an *ident.Error about the dial string", s, err)
		}
	}
	if err := ident.Dial(strings.Repeat("a", ident.MaxDial)); err != nil {
		t.Errorf("a %d-byte dial string: %v", ident.MaxDial, err)
	}
	if err := ident.Dial(strings.Repeat("a", ident.MaxDial+1)); err == nil {
		t.Errorf("a %d-byte dial string accepted", ident.MaxDial+1)
	}
}

func TestNumbers(t *testing.T) {
	for _, f := range []func(string) error{ident.Extension, ident.Group, ident.Caller} {
		for _, s := range identtest.GoodNumbers {
			if err := f(s); err != nil {
				t.Errorf("%q: %v, want ok", s, err)
			}
		}
		for _, s := range identtest.BadNumbers {
			if f(s) == nil {
				t.Errorf("%q accepted, want refused", s)
			}
		}
	}
	err := ident.Extension("-bleg")
	if err == nil || !strings.Contains(err.Error(), `bad extension "-bleg"`) {
		t.Errorf("error %v does not name the extension", err)
	}
}

func TestUUIDsNamesJobsRings(t *testing.T) {
	for _, s := range identtest.GoodUUIDs {
		if err := ident.UUID(s); err != nil {
			t.Errorf("UUID(%q): %v", s, err)
		}
	}
	for _, s := range identtest.BadUUIDs {
		if ident.UUID(s) == nil {
			t.Errorf("UUID(%q) accepted", s)
		}
	}
	for _, s := range identtest.GoodGroupNames {
		if err := ident.GroupName(s); err != nil {
			t.Errorf("GroupName(%q): %v", s, err)
		}
	}
	for _, s := range identtest.BadGroupNames {
		if ident.GroupName(s) == nil {
			t.Errorf("GroupName(%q) accepted", s)
		}
	}
	cn40 := strings.Repeat("热", 40)
	if err := ident.GroupName(cn40); err == nil || !strings.Contains(err.Error(), "120 bytes, at most 100") {
		t.Errorf("40 Chinese characters: %v, want a byte-count refusal", err)
	}
	for s, ok := range map[string]bool{"A1": true, "12345678901234567890123456789012": true, "123456789012345678901234567890123": false, "a-1": false, "": false} {
		if (ident.JobNumber(s) == nil) != ok {
			t.Errorf("JobNumber(%q) ok=%v, want %v", s, !ok, ok)
		}
	}
	for s, ok := range map[string]bool{"": true, "/var/sounds/welcome.wav": true, "$${sounds_dir}/欢迎.wav": true, "a\nb": false, "a\xff": false, strings.Repeat("a", 256): false} {
		if (ident.Ring(s) == nil) != ok {
			t.Errorf("Ring(%q) ok=%v, want %v", s, !ok, ok)
		}
	}
	for s, ok := range map[string]bool{"gw1": true, "my-gw.example": true, "-gw": false, "gw 1": false, "gw/1": false} {
		if (ident.Gateway(s) == nil) != ok {
			t.Errorf("Gateway(%q) ok=%v, want %v", s, !ok, ok)
		}
	}
}

// TestLimitsFitTheSchema reads every varchar(n) column of sql/*.sql and checks
// each ident limit against the columns it is stored in: a value ident accepts
// is never refused by the store.
func TestLimitsFitTheSchema(t *testing.T) {
	cols := map[string]int{} // column name → smallest size seen
	re := regexp.MustCompile(`(?m)^\s*"?([a-z_]+)"?\s+(?:character varying|varchar)\((\d+)\)`)
	files, err := fs.Glob(schema.Migrations, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(schema.Migrations, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n, _ := strconv.Atoi(m[2])
			if old, ok := cols[m[1]]; !ok || n < old {
				cols[m[1]] = n
			}
		}
	}
	for _, c := range []struct {
		limit   int
		name    string
		columns []string
	}{
		{ident.MaxNumber, "MaxNumber", []string{"group_number", "number", "ext", "ext_group_number", "current_ext_number", "caller_number"}},
		{ident.MaxJob, "MaxJob", []string{"job_number"}},
		{ident.MaxUUID, "MaxUUID", []string{"uuid"}},
		{ident.MaxGroupName, "MaxGroupName", []string{"group_name"}},
		{ident.MaxRing, "MaxRing", []string{"welcome_ring", "transfer_ring", "black_list_ring", "busy_ring"}},
		{ident.MaxDial, "MaxDial", []string{"dial_string"}},
	} {
		for _, col := range c.columns {
			n, ok := cols[col]
			if !ok {
				t.Errorf("column %s not found in sql/*.sql", col)
				continue
			}
			if c.limit > n {
				t.Errorf("ident.%s = %d exceeds column %s varchar(%d)", c.name, c.limit, col, n)
			}
		}
	}
}

// The parsers never panic, and what they accept holds the promises the
// callers rely on.
func FuzzDial(f *testing.F) {
	for _, s := range append(append([]string{}, identtest.GoodDials...), identtest.BadDials...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ident.Dial(s) != nil {
			return
		}
		if !utf8.ValidString(s) || len(s) > ident.MaxDial || strings.ContainsAny(s, "&\\\x00\n\r\t") {
			t.Fatalf("accepted %q", s)
		}
		// Outside single quotes there is no blank: the string stays one argument.
		quoted := false
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '\'':
				quoted = !quoted
			case s[i] == ' ' && !quoted:
				t.Fatalf("accepted %q with a blank outside quotes", s)
			}
		}
		if quoted {
			t.Fatalf("accepted %q with an open quote", s)
		}
		if i := strings.Index(s, "${"); i >= 0 && strings.ContainsAny(s[i:i+strings.IndexByte(s[i:], '}')], "( ") {
			t.Fatalf("accepted an API expansion in %q", s)
		}
		if strings.Contains(strings.ToLower(s), "exec") || strings.Contains(strings.ToLower(s), "api") && strings.ContainsAny(s, "{[<") {
			// Only allowed outside variable names, e.g. "user/exec1": check
			// that no block names such a variable.
			for _, w := range []string{"{exec", ",exec", "[exec", "<exec", "{api", ",api", "[api", "<api"} {
				if strings.Contains(strings.ToLower(s), w) {
					t.Fatalf("accepted %q", s)
				}
			}
		}
	})
}

func fuzzNumber(f *testing.F, check func(string) error) {
	for _, s := range append(append([]string{}, identtest.GoodNumbers...), identtest.BadNumbers...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if check(s) != nil {
			return
		}
		if s == "" || len(s) > ident.MaxNumber || s[0] == '-' || strings.ContainsAny(s, "@ /,{}&'\\$") || !utf8.ValidString(s) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzExtension(f *testing.F) { fuzzNumber(f, ident.Extension) }
func FuzzGroup(f *testing.F)     { fuzzNumber(f, ident.Group) }
func FuzzCaller(f *testing.F)    { fuzzNumber(f, ident.Caller) }

func FuzzUUID(f *testing.F) {
	for _, s := range append(append([]string{}, identtest.GoodUUIDs...), identtest.BadUUIDs...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ident.UUID(s) == nil && (s == "" || len(s) > ident.MaxUUID || s[0] == '-' || strings.ContainsAny(s, " '{}&;\x00")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzGroupName(f *testing.F) {
	for _, s := range append(append([]string{}, identtest.GoodGroupNames...), identtest.BadGroupNames...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ident.GroupName(s) == nil && (s == "" || len(s) > ident.MaxGroupName || !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\t\n\ufffd")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzGateway(f *testing.F) {
	for _, s := range []string{"gw1", "my-gw.example", "-gw", "gw 1", "gw/1", "gw1@evil", "gw1 &park()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ident.Gateway(s) == nil && (s == "" || len(s) > ident.MaxGateway || s[0] == '-' || strings.ContainsAny(s, " /@&'{}\x00")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzJobNumber(f *testing.F) {
	for _, s := range []string{"A1", "007", "a-1", "", "工号", "1 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ident.JobNumber(s) == nil && (s == "" || len(s) > ident.MaxJob || strings.ContainsAny(s, " -_@&\x00")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzRing(f *testing.F) {
	for _, s := range append([]string{"", "/var/sounds/welcome.wav", "$${sounds_dir}/欢迎.wav"}, identtest.BadDials...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ident.Ring(s) == nil && (len(s) > ident.MaxRing || !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\t\n\r\ufffd")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func BenchmarkDial(b *testing.B) {
	s := "{origination_caller_id_number=4001,leg_timeout=20,absolute_codec_string='PCMU,PCMA'}sofia/gateway/gw1/13800000000"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if err := ident.Dial(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtension(b *testing.B) {
	for b.Loop() {
		if err := ident.Extension("1001"); err != nil {
			b.Fatal(err)
		}
	}
}
