package loadtest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDialplanIsWellFormedAndNamesEveryProfile(t *testing.T) {
	x := fmt.Sprintf(dialplanXML, "9990", "external", 5090, "support@default", RunVar)
	var v struct {
		Ext []struct {
			Name string `xml:"name,attr"`
			Cond struct {
				Expr    string `xml:"expression,attr"`
				Actions []struct {
					App  string `xml:"application,attr"`
					Data string `xml:"data,attr"`
				} `xml:"action"`
			} `xml:"condition"`
		} `xml:"extension"`
	}
	if err := xml.Unmarshal([]byte(x), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Ext) != 3 || v.Ext[0].Cond.Expr != "^"+DestACD+"$" || v.Ext[1].Cond.Expr != "^"+DestBare+"$" || v.Ext[2].Cond.Expr != "^"+DestCallcenter+"$" {
		t.Fatalf("%+v", v)
	}
	for _, e := range v.Ext {
		if a := e.Cond.Actions[0]; a.App != "set" || a.Data != RunVar+"=1" {
			t.Fatalf("%s does not mark its calls first: %+v", e.Name, a)
		}
	}
	if a := v.Ext[0].Cond.Actions[2]; a.App != "nwayacd" || a.Data != "9990" {
		t.Fatalf("acd profile runs %+v", a)
	}
	if a := v.Ext[1].Cond.Actions[3]; a.App != "bridge" || a.Data != "sofia/external/bare@127.0.0.1:5090" {
		t.Fatalf("bare profile runs %+v", a)
	}
	if a := v.Ext[2].Cond.Actions[2]; a.App != "callcenter" || a.Data != "support@default" {
		t.Fatalf("callcenter profile runs %+v", a)
	}
}

func TestSLO(t *testing.T) {
	ok := Result{Report: Report{Calls: 100, Reached: 99, Offer: []time.Duration{time.Second}}}
	if !ok.MeetsSLO() {
		t.Fatal("99% reached, p99 1 s: meets the SLO")
	}
	slow := Result{Report: Report{Calls: 100, Reached: 100, Offer: []time.Duration{2 * time.Second}}}
	lost := Result{Report: Report{Calls: 100, Reached: 98, Offer: []time.Duration{time.Millisecond}}}
	if slow.MeetsSLO() || lost.MeetsSLO() {
		t.Fatal("p99 2 s or 98% reached must miss the SLO")
	}
	if !strings.HasPrefix(ok.Row(), "|  | 0/s | 100 | 99.0% | 1000.0 / 1000.0 ms") {
		t.Fatalf("row %q", ok.Row())
	}
}

func TestFindSwitchSaysNoneWithoutFreeSWITCH(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := FindSwitch(context.Background()); !errors.Is(err, ErrNoSwitch) {
		t.Skipf("a FreeSWITCH is installed here (%v)", err)
	}
}

func TestParseProfileIPReadsTheBoundAddress(t *testing.T) {
	status := "=================\nName             \texternal\nRTP-IP           \t192.0.2.2\nExt-RTP-IP       \t127.0.0.1\nSIP-IP           \t192.0.2.2\nExt-SIP-IP       \t127.0.0.1\nURL              \tsip:mod_sofia@127.0.0.1:5080\n"
	if ip, ok := parseProfileIP(status); !ok || ip != "192.0.2.2" {
		t.Fatalf("got %q %v, want 192.0.2.2 (the bound SIP-IP, not Ext-SIP-IP)", ip, ok)
	}
	for _, bad := range []string{"", "Invalid Profile!", "SIP-IP \tnot-an-ip\n"} {
		if ip, ok := parseProfileIP(bad); ok {
			t.Fatalf("parseProfileIP(%q) = %q, want none", bad, ip)
		}
	}
}

func TestParseSPSAndWrapUp(t *testing.T) {
	if n, err := parseSPS("+OK sessions per second: 30\n"); err != nil || n != 30 {
		t.Fatalf("parseSPS = %d, %v; want 30", n, err)
	}
	for _, bad := range []string{"", "-ERR no", "+OK sessions per second: many"} {
		if _, err := parseSPS(bad); err == nil {
			t.Fatalf("parseSPS(%q) accepted", bad)
		}
	}
	st := "+OK mod_nwayacd status\nversion: 1.0.0\nwrap-up: 0s, no-answer limit: 3 (0: none), memory expiry: never\n"
	if w := statusWrapUp(st); w != "0s" {
		t.Fatalf("statusWrapUp = %q, want 0s", w)
	}
	if w := statusWrapUp("+OK\n"); w != "unknown" {
		t.Fatalf("statusWrapUp of nothing = %q", w)
	}
	if statusEarlyBye(st) || !statusEarlyBye(st+`sip_capture: {"bad_packets":0}`+"\n") {
		t.Fatal("statusEarlyBye reads the sip_capture section wrong")
	}
}

func TestRowLeavesQueuedDispatchOutForBare(t *testing.T) {
	rep := Report{Calls: 2, Reached: 2, QueuedDispatch: []time.Duration{3 * time.Millisecond}}
	bare := Result{Run: Run{Profile: "bare", Dest: DestBare}, Report: rep}.Row()
	acd := Result{Run: Run{Profile: "nwayacd", Dest: DestACD}, Report: rep}.Row()
	if !strings.Contains(bare, "| — |") || strings.Contains(bare, "(1)") {
		t.Fatalf("bare row shows a queued dispatch: %s", bare)
	}
	if !strings.Contains(acd, "3.0 / 3.0 ms (1)") {
		t.Fatalf("nwayacd row lost its queued dispatch: %s", acd)
	}
}

func TestCPURatioOverPairs(t *testing.T) {
	// Pairs 1.10, 1.00, 1.50 (a noisy one): the median ignores the outlier,
	// the pooled ratio weighs every call.
	ratios, median, pooled := CPURatio(cpu(40, 50, 20), cpu(44, 50, 30))
	if len(ratios) != 3 || median != 1.10 || pooled != 124.0/110 {
		t.Fatalf("ratios %v median %v pooled %v", ratios, median, pooled)
	}
	if _, median, _ := CPURatio(cpu(40, 50), cpu(44, 50)); median != 1.05 {
		t.Fatalf("even count: median %v, want the mean of the middle two", median)
	}
	// A pair where either run measured nothing is left out; unmatched runs too.
	if ratios, _, pooled := CPURatio(cpu(0, 40, 50), cpu(30, 44, 0, 99)); len(ratios) != 1 || pooled != 1.1 {
		t.Fatalf("ratios %v pooled %v", ratios, pooled)
	}
	if l := RatioLine(20, "nwayacd", cpu(40, 50), cpu(44, 50)); !strings.Contains(l, "median 1.05×") || !strings.Contains(l, "pairs: 1.10, 1.00") {
		t.Fatalf("line %q", l)
	}
	if RatioLine(20, "nwayacd", nil, nil) != "" {
		t.Fatal("a line without pairs")
	}
	if l := RatioLine(20, "nwayacd", cpu(40, 50), cpu(44, 50)); strings.Contains(l, "interval") {
		t.Fatalf("an interval from two pairs: %q", l)
	}
}

func TestRatioIntervalIsStudentsTOnTheLogRatios(t *testing.T) {
	// Identical ratios: no spread, the interval is that ratio.
	geo, lo, hi, ok := RatioInterval(cpu(40, 50, 45, 42), cpu(44, 55, 49.5, 46.2))
	if !ok || math.Abs(geo-1.1) > 1e-9 || math.Abs(lo-1.1) > 1e-9 || math.Abs(hi-1.1) > 1e-9 {
		t.Fatalf("geo %v interval %v–%v %v, want 1.10 all", geo, lo, hi, ok)
	}
	// Ratios 1.1, 1.0, 1.2, 0.9 (logs known): mean and half-width by hand.
	bare := cpu(100, 100, 100, 100)
	acd := cpu(110, 100, 120, 90)
	logs := []float64{math.Log(1.1), 0, math.Log(1.2), math.Log(0.9)}
	m := (logs[0] + logs[1] + logs[2] + logs[3]) / 4
	var ss float64
	for _, l := range logs {
		ss += (l - m) * (l - m)
	}
	half := 3.182 * math.Sqrt(ss/3/4)
	geo, lo, hi, ok = RatioInterval(bare, acd)
	if !ok || math.Abs(geo-math.Exp(m)) > 1e-9 || math.Abs(lo-math.Exp(m-half)) > 1e-9 || math.Abs(hi-math.Exp(m+half)) > 1e-9 {
		t.Fatalf("geo %v [%v, %v], want %v [%v, %v]", geo, lo, hi, math.Exp(m), math.Exp(m-half), math.Exp(m+half))
	}
	// More pairs of the same spread: narrower.
	b4 := slices.Concat(bare, bare, bare, bare)
	a4 := slices.Concat(acd, acd, acd, acd)
	if _, lo4, hi4, _ := RatioInterval(b4, a4); hi4-lo4 >= hi-lo {
		t.Fatalf("four times the pairs: %.3f–%.3f, not narrower than %.3f–%.3f", lo4, hi4, lo, hi)
	}
	if l := RatioLine(20, "nwayacd", bare, acd); !strings.Contains(l, "[95% t-interval within this set ") {
		t.Fatalf("line without its interval: %q", l)
	}
	if _, _, _, ok := RatioInterval(cpu(40, 50, 45), cpu(44, 55, 49)); ok {
		t.Fatal("an interval from three pairs")
	}
	if t975(1) != 12.706 || t975(30) != 2.042 || t975(500) != 1.98 {
		t.Fatal("t table")
	}
}

func TestFailedRunHasNoFigures(t *testing.T) {
	r := Result{Run: Run{Profile: "nwayacd", Rate: 50}, Failed: "sipp callers failed: exit status 255: Unable to send UDP | x\ny"}
	row := r.Row()
	if !strings.HasPrefix(row, "| nwayacd | 50/s | no figures: sipp callers failed") || strings.Count(row, "|") != 4 || strings.Contains(row, "\n") {
		t.Fatalf("row %q", row)
	}
	if r.MeetsSLO() {
		t.Fatal("a failed run meets the SLO")
	}
	ok := Result{CPUPerCall: 40 * time.Millisecond}
	if ratios, _, _ := CPURatio([]Result{ok, ok}, []Result{r, ok}); len(ratios) != 1 {
		t.Fatalf("a failed run counted in the ratio: %v", ratios)
	}
}

// cpu is one Result per figure, each with that CPU per call in ms.
func cpu(ms ...float64) []Result {
	out := make([]Result, len(ms))
	for i, m := range ms {
		out[i].CPUPerCall = time.Duration(m * float64(time.Millisecond))
	}
	return out
}
