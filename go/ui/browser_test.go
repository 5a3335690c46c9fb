package ui_test

import (
	"context"
	"fmt"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/node"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/sim"
)

// chromium finds Debian's headless browser; missing, the test skips unless
// CI requires everything (NWAYACD_REQUIRE_SERVICES=1; .ci/services installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("NWAYACD_REQUIRE_SERVICES") == "1" {
		t.Fatal("chromium is required (apt-get install chromium)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// demo starts the demo's node: the real node driven by the simulated switch
// in real time, with synthetic agents in group 110, our own extensions
// 1001-1020 in group 120, an empty group 900 where calls wait, and 1,000
// more agents in 50 groups so the board has a realistic size.
func demo(t *testing.T) *node.Node {
	t.Helper()
	s := sim.New(sim.Config{Seed: 7, Start: time.Now(),
		Groups:         []sim.GroupSpec{{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 3}},
		CallsPerSecond: 0.3, AnswerRate: 0.8, Callers: 20,
		AnswerDelay: [2]time.Duration{time.Second, 4 * time.Second}, TalkTime: [2]time.Duration{5 * time.Second, 20 * time.Second},
		Patience: [2]time.Duration{20 * time.Second, 60 * time.Second}})
	dir := t.TempDir()
	n, err := node.Start(map[string]string{"rest-listen": "127.0.0.1:0", "publisher": "none", "fs-db-dir": dir, "fs-log-dir": dir,
		"wrapup-seconds": "3", "no-answer-limit": "0"},
		node.Options{Switch: s, Clock: s.Clock(), Logger: logx.New(func(_ int, line string) { t.Log(line) }, slog.LevelError)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Attach(n.Service); err != nil {
		n.Stop()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.RunRealtime(ctx, 1) }()
	t.Cleanup(func() { cancel(); <-done; n.Stop() })
	for _, g := range []string{"120", "900"} { // not the sim's: only the test's calls and agents
		if err := n.Service.AddGroup(g, acd.ModeSequential); err != nil {
			t.Fatal(err)
		}
	}
	// A realistic board: 1,000 more agents in 50 more groups.
	for g := 0; g < 50; g++ {
		num := fmt.Sprint(200 + g)
		if err := n.Service.AddGroup(num, acd.ModeSequential); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 20; k++ {
			ext := fmt.Sprint(3000 + g*20 + k)
			if err := n.Service.AddExtension(ext, "9"+ext); err != nil {
				t.Fatal(err)
			}
			if err := n.Service.Login(ext, []string{num}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 1001; i <= 1020; i++ {
		ext := fmt.Sprint(i)
		if err := n.Service.AddExtension(ext, "9"+ext); err != nil {
			t.Fatal(err)
		}
		if err := n.Service.Login(ext, []string{"120"}); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func browser(t *testing.T, exe string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("headless", true),
		chromedp.WindowSize(1280, 860), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	// The first run starts the browser and must not carry a timeout (it
	// would stop the browser with it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// poll waits until the page expression is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(10*time.Millisecond))(ctx, tg)
		return chromedp.Void{}, err
	}
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

func post(t *testing.T, base, tok, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Nway "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d", path, resp.StatusCode)
	}
}

func TestWallboardAndConsole(t *testing.T) {
	exe := chromium(t)
	n := demo(t)
	base := "http://" + n.Addr()
	ctx := browser(t, exe)

	// Log in on the wallboard.
	run(t, ctx, 30*time.Second, "wallboard login",
		chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible(css("#loginBtn")),
		chromedp.SetValue(css("#pass"), "admin"),
		chromedp.Click(css("#loginBtn")),
		chromedp.WaitVisible(css(`.tile[data-group="120"]`)),
		chromedp.WaitVisible(css(`.agent[data-ext="1001"][data-state="ready"]`)),
		chromedp.WaitVisible(css(`#live.on`)))
	tok := value(t, ctx, "token", chromedp.Evaluate[string](`NW.token`))

	// A REST change shows within a second.
	start := time.Now()
	post(t, base, tok, "/api/agent_busy", `{"Extension":"1001"}`)
	run(t, ctx, time.Second, "agent 1001 busy on the wallboard within 1 s",
		chromedp.WaitVisible(css(`.agent[data-ext="1001"][data-state="busy"]`)))
	t.Logf("REST change on the wallboard after %v", time.Since(start).Round(time.Millisecond))

	// A waiting call appears in its group's tile, then leaves.
	n.Service.Enter(session.Call{Kind: session.Queue, UUID: "ui-test-call-1", Group: "900", CallerNumber: "13800138000"})
	run(t, ctx, 2*time.Second, "waiting call appears",
		chromedp.WaitVisible(css(`.tile[data-group="900"] [data-k="waiting"]`)),
		poll(`document.querySelector('.tile[data-group="900"] [data-k="waiting"]').textContent === "1"`))
	if shots := os.Getenv("NWAYACD_SCREENSHOTS"); shots != "" {
		time.Sleep(1500 * time.Millisecond) // a few seconds of waiting on screen
		png := value(t, ctx, "screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(shots, "wallboard.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n.Service.Leave("ui-test-call-1")
	run(t, ctx, 2*time.Second, "waiting call leaves",
		poll(`document.querySelector('.tile[data-group="900"] [data-k="waiting"]').textContent === "0"`))

	// Wallboard lag at 200 state changes a second (10 agents, 3 s).
	value(t, ctx, "trace on", chromedp.Evaluate[bool](`WB.trace = []; true`))
	type change struct {
		ext, state string
		at         time.Time
	}
	var sent []change
	t0 := time.Now()
	for i := 0; i < 600; i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * 5 * time.Millisecond))) // 200/s, catching up when late
		ext := fmt.Sprint(1002 + i%10)
		st := "busy"
		if (i/10)%2 == 1 {
			st = "ready"
		}
		at := time.Now()
		var err error
		if st == "busy" {
			err = n.Service.SetBusy(ext)
		} else {
			err = n.Service.SetReady(ext)
		}
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, change{ext, st, at})
	}
	elapsed := time.Since(sent[0].at)
	ours := func(tr [][]any) [][]any { // the simulated agents change too
		var out [][]any
		for _, r := range tr {
			if e := fmt.Sprint(r[0]); e >= "1002" && e <= "1011" && len(e) == 4 {
				out = append(out, r)
			}
		}
		return out
	}
	var trace [][]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		trace = ours(value(t, ctx, "trace", chromedp.Evaluate[[][]any](`WB.trace`)))
		if len(trace) >= len(sent) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(trace) != len(sent) {
		t.Fatalf("the wallboard showed %d of %d changes", len(trace), len(sent))
	}
	// Match the k-th change of each agent with its k-th appearance.
	seen := map[string][]int64{}
	for _, r := range trace {
		seen[fmt.Sprint(r[0])+"/"+fmt.Sprint(r[1])] = append(seen[fmt.Sprint(r[0])+"/"+fmt.Sprint(r[1])], int64(r[2].(float64)))
	}
	var lags []time.Duration
	used := map[string]int{}
	for _, c := range sent {
		k := c.ext + "/" + c.state
		shown := seen[k]
		if used[k] >= len(shown) {
			sentN := map[string]int{}
			for _, c := range sent {
				sentN[c.ext+"/"+c.state]++
			}
			shownN := map[string]int{}
			for k, v := range seen {
				shownN[k] = len(v)
			}
			t.Fatalf("change %s not shown\nsent  %v\nshown %v", k, sentN, shownN)
		}
		lags = append(lags, time.UnixMilli(shown[used[k]]).Sub(c.at))
		used[k]++
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	p := func(q float64) time.Duration { return lags[int(q*float64(len(lags)-1))].Round(time.Millisecond) }
	t.Logf("wallboard (%d agents, %d groups) lag at %.0f changes/s: p50 %v, p95 %v, p99 %v, max %v (%d changes)",
		1023, 53, float64(len(sent))/elapsed.Seconds(), p(.5), p(.95), p(.99), lags[len(lags)-1].Round(time.Millisecond), len(lags))

	// The agent console: log in as 1001, ready and busy reach the core.
	run(t, ctx, 20*time.Second, "console login",
		chromedp.Navigate(base+"/ui/console.html"),
		chromedp.WaitVisible(css("#loginBtn")),
		chromedp.SetValue(css("#pass"), "admin"),
		chromedp.SetValue(css("#ext"), "1001"),
		chromedp.Click(css("#loginBtn")),
		chromedp.WaitVisible(css("#desk")),
		chromedp.WaitVisible(css(`#live.on`)))
	waitCore := func(want acd.CallState) {
		t.Helper()
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if x, _ := n.Service.Extension("1001"); x.CallState == want {
				return
			}
		}
		x, _ := n.Service.Extension("1001")
		t.Fatalf("core state %s, want %s", x.CallState, want)
	}
	run(t, ctx, 5*time.Second, "click ready", chromedp.Click(css("#ready")))
	waitCore(acd.CallReady)
	run(t, ctx, 2*time.Second, "console shows ready", chromedp.WaitVisible(css(`#state[data-state="ready"]`)))
	run(t, ctx, 5*time.Second, "click busy", chromedp.Click(css("#busy")))
	waitCore(acd.CallBusy)
	run(t, ctx, 2*time.Second, "console shows busy", chromedp.WaitVisible(css(`#state[data-state="busy"]`)))
	run(t, ctx, 5*time.Second, "set call state rest",
		chromedp.SetValue(css("#callstate"), "rest"), chromedp.Click(css("#setState")))
	waitCore(acd.CallRest)
	// Logging in to a group through the console.
	run(t, ctx, 5*time.Second, "log in to 110",
		chromedp.SetValue(css("#groups"), "110"), chromedp.Click(css("#groupLogin")))
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if x, _ := n.Service.Extension("1001"); len(x.Groups) == 2 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("console login to group 110 did not reach the core")
		}
	}
	// An error is shown, not swallowed: hold without a call.
	run(t, ctx, 5*time.Second, "hold without a call",
		chromedp.Click(css("#hold")),
		poll(`document.getElementById("msg").textContent.startsWith("hold: ")`))
	msg := value(t, ctx, "message", chromedp.Text(css("#msg")))
	if strings.HasSuffix(msg, ": ok") {
		t.Fatalf("hold without a call said %q", msg)
	}
	if shots := os.Getenv("NWAYACD_SCREENSHOTS"); shots != "" {
		png := value(t, ctx, "screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(shots, "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
