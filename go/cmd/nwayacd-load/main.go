// Command nwayacd-load measures mod_nwayacd in an installed, running
// FreeSWITCH against a bare answer+bridge on the same switch: sipp callers
// and agents on loopback, SIP captured with kernel timestamps (needs root).
// With no FreeSWITCH running it says so and exits 0. It cleans up the
// dialplan and extensions it added, and kills only the sipp processes it
// started itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/loadtest"
)

func main() {
	var (
		rates    = flag.String("rates", "20", "call rates per second, comma-separated (each is one run per profile)")
		calls    = flag.Int("calls", 400, "calls per run")
		agents   = flag.Int("agents", 70, "agents (extensions 7000…)")
		ring     = flag.Duration("ring", 100*time.Millisecond, "agents answer after")
		talk     = flag.Duration("talk", 2*time.Second, "agents hang up after")
		noAnswer = flag.Float64("no-answer", 0, "share of offers never answered (0..1)")
		patience = flag.Duration("patience", 30*time.Second, "callers hang up after waiting")
		profiles = flag.String("profiles", "bare,nwayacd", "profiles to run: bare, nwayacd, callcenter (FreeSWITCH's mod_callcenter, where it is installed), bare2 (the bare bridge again: a control whose ratio to bare is the measurement's own noise)")
		ccQueue  = flag.String("callcenter-queue", "support@default", "the mod_callcenter queue (in callcenter.conf.xml) the callcenter profile's callers enter; its agents are added and removed by the harness")
		sipProf  = flag.String("sip-profile", "external", "FreeSWITCH SIP profile callers reach (public context, no auth)")
		sipPort  = flag.Int("sip-port", 5080, "that profile's port")
		slo      = flag.Bool("slo", false, "after the runs, raise the rate by 5/s until the SLO (≥ 99% reached, offer p99 < 2 s) fails")
		repeat   = flag.Int("repeat", 1, "runs of each profile per rate, interleaved (every other pair in reverse order, so that a drift of the machine cancels out); with both profiles, the CPU ratio's median over the pairs follows")
		sippRT   = flag.Bool("sipp-as-switch", false, "run sipp at the switch's own scheduling (SCHED_FIFO in FreeSWITCH) rather than SCHED_OTHER, so that a saturated switch cannot starve its load generator (which then adds realtime load of its own that phones on other machines would not)")
		groupOpt = flag.String("group-options", "", "options of the module's group for the runs, as nway_set_group takes them: name=value,… (e.g. ring_wait=20: waiting callers are left ringing, without media)")
		warmup   = flag.Int("warmup", 0, "calls of an unmeasured run of each profile before the first rate's runs (pools, caches and the heap warm up; the first run after a FreeSWITCH start costs most)")
	)
	flag.Parse()
	if *repeat < 1 {
		fail(fmt.Errorf("bad -repeat %d", *repeat))
	}
	if *warmup < 0 {
		fail(fmt.Errorf("bad -warmup %d", *warmup))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	sw, err := loadtest.FindSwitch(ctx)
	if errors.Is(err, loadtest.ErrNoSwitch) {
		fmt.Println("load: skipped:", err)
		return
	}
	if err != nil {
		fail(err)
	}
	const group, first, agentPort, callerPort = "9990", 7000, 5090, 5070
	switchIP, err := sw.ProfileIP(ctx, *sipProf)
	if err != nil {
		fail(err)
	}
	// Each routed call is two sessions; a stock switch.conf.xml allows 30 a
	// second, so FreeSWITCH itself would refuse calls at 20/s. Raise it for
	// the runs and put it back after.
	if sps, err := sw.SessionsPerSecond(ctx); err == nil {
		if need := 4*int(maxRate(*rates, *slo)) + 20; sps < need {
			if err := sw.SetSessionsPerSecond(ctx, need); err != nil {
				fail(err)
			}
			fmt.Printf("load: raised FreeSWITCH's sessions-per-second from %d to %d for the runs\n", sps, need)
			undo := func() { _ = sw.SetSessionsPerSecond(context.Background(), sps) }
			atExit = append(atExit, undo)
			defer undo()
		}
	}
	st, err := loadtest.Configure(ctx, sw, *sipProf, group, *ccQueue, first, *agents, agentPort)
	if err != nil {
		fail(err)
	}
	atExit = append(atExit, func() { st.Teardown(context.Background()) })
	defer st.Teardown(context.Background())
	if err := st.SetGroupOptions(ctx, *groupOpt); err != nil {
		fail(err)
	}

	params := loadtest.Params{CallerPrefix: "139" + strconv.FormatInt(time.Now().Unix()%100000, 10), Patience: *patience, Ring: *ring, Talk: *talk, NoAnswerChance: *noAnswer}
	failedRuns := 0
	run := func(profile string, rate float64, calls int) loadtest.Result {
		r := loadtest.Run{Profile: profile, Dest: loadtest.DestBare, Rate: rate, Calls: calls,
			SwitchIP: switchIP, SwitchPort: *sipPort, AgentPort: agentPort, CallerPort: callerPort, Params: params,
			SippAsSwitch: *sippRT}
		switch profile {
		case "nwayacd":
			r.Dest = loadtest.DestACD
		case "callcenter":
			r.Dest = loadtest.DestCallcenter
		}
		res, err := loadtest.Execute(ctx, sw, r)
		if err != nil {
			fail(err)
		}
		// One run without figures is sipp starved past saturation; two in
		// a row is more likely a fault of the set-up (a port taken, a bad
		// option) that every further run would repeat.
		if res.Failed == "" {
			failedRuns = 0
		} else if failedRuns++; failedRuns == 2 {
			fmt.Println(res.Row())
			fail(errors.New("two runs in a row without figures: the callers' sipp fails (see the rows); stopping"))
		}
		time.Sleep(*talk + 2*time.Second) // let the last calls end before the next run
		return res
	}
	// pool follows a run's row: a run past saturation can leave agents out
	// of the module's pool (the no-answer limit); it says so, and gives the
	// next run all of them.
	pool := func(profile string) {
		if profile != "nwayacd" {
			return
		}
		states, err := st.AgentStates(ctx)
		if err != nil {
			return
		}
		if u := loadtest.Unready(states); u != "" {
			fmt.Printf("(after that run, agents not ready: %s; set ready again)\n", u)
			if err := st.ReadyAll(ctx); err != nil {
				fail(err)
			}
		}
	}
	wrap := "mod_nwayacd not loaded"
	if st.ACD {
		wrap = "mod_nwayacd wrap-up " + st.WrapUp
		if *groupOpt != "" {
			wrap += ", group options " + *groupOpt
		}
		if st.EarlyBye {
			wrap += ", early BYE (sip-capture-listen) on"
		}
	}
	sippSched := "sipp SCHED_OTHER"
	if *sippRT {
		if pid, err := sw.PID(ctx); err == nil {
			if sc, err := loadtest.SwitchSched(pid); err == nil {
				sippSched = "sipp at the switch's scheduling (" + sc.String() + ")"
			}
		}
	}
	fmt.Printf("mod_nwayacd load, %s: %d agents, ring %v, talk %v, %d calls per run, %s, %s\n\n%s\n",
		time.Now().Format(time.DateOnly), *agents, *ring, *talk, *calls, wrap, sippSched, loadtest.Header)
	var last float64
	var ratios []string
	var profs []string
	for _, p := range strings.Split(*profiles, ",") {
		p = strings.TrimSpace(p)
		if p == "nwayacd" && !st.ACD {
			fmt.Println("| nwayacd | skipped: mod_nwayacd is not loaded |")
			continue
		}
		if p == "callcenter" {
			if err := st.SetupCallcenter(ctx, *sipProf, *ccQueue, first, *agents, agentPort); err != nil {
				fmt.Printf("| callcenter | skipped: %v |\n", err)
				continue
			}
		}
		if p != "bare" && p != "bare2" && p != "nwayacd" && p != "callcenter" {
			fail(fmt.Errorf("unknown profile %q", p))
		}
		profs = append(profs, p)
	}
	for i, rs := range strings.Split(*rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil || rate <= 0 {
			fail(fmt.Errorf("bad rate %q", rs))
		}
		last = rate
		if i == 0 && *warmup > 0 {
			for _, p := range profs {
				fmt.Println("(warm-up, not counted) " + run(p, rate, *warmup).Row())
				pool(p)
			}
		}
		byProfile := map[string][]loadtest.Result{}
		for k := range *repeat {
			for _, p := range loadtest.PairOrder(profs, k) {
				res := run(p, rate, *calls)
				byProfile[p] = append(byProfile[p], res)
				fmt.Println(res.Row())
				pool(p)
			}
		}
		for _, p := range []string{"nwayacd", "callcenter", "bare2"} {
			ratios = append(ratios, loadtest.RatioLine(rate, p, byProfile["bare"], byProfile[p]))
		}
	}
	for _, l := range ratios {
		if l != "" && *repeat > 1 {
			fmt.Println("\n" + l)
		}
	}
	if *slo {
		for _, p := range profs { // the profiles that run, not any skipped
			best := 0.0
			for rate := last; ctx.Err() == nil; rate += 5 {
				res := run(p, rate, *calls)
				fmt.Println(res.Row())
				pool(p)
				if !res.MeetsSLO() {
					break
				}
				best = rate
			}
			fmt.Printf("\n%s: highest rate meeting the SLO: %.0f/s\n", p, best)
		}
	}
}

// maxRate is the highest rate the runs reach (the SLO search goes on past
// the last one; 200/s bounds what it asks for).
func maxRate(rates string, slo bool) float64 {
	best := 0.0
	for _, rs := range strings.Split(rates, ",") {
		if r, err := strconv.ParseFloat(strings.TrimSpace(rs), 64); err == nil {
			best = max(best, r)
		}
	}
	if slo {
		best = max(best, 200)
	}
	return best
}

// atExit undoes what the runs changed in the switch, newest first, when
// fail ends the process (os.Exit skips deferred calls).
var atExit []func()

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	for i := len(atExit) - 1; i >= 0; i-- {
		atExit[i]()
	}
	os.Exit(1)
}
