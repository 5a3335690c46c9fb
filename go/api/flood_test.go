package api

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// raiseNoFile lifts the soft descriptor limit to the hard one and returns it.
func raiseNoFile(t testing.TB) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			t.Fatal(err)
		}
	}
	return rl.Cur
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// TestFloodHelper is the flooding client, run in a child process so that its
// descriptors do not count against the server's: it opens
// NWAYACD_FLOOD_N idle connections from NWAYACD_FLOOD_FROM, reports
// "opened N failed M", and holds them until its stdin closes.
func TestFloodHelper(t *testing.T) {
	addr := os.Getenv("NWAYACD_FLOOD_ADDR")
	if addr == "" {
		t.Skip("run by TestConnectionFlood")
	}
	raiseNoFile(t)
	n, _ := strconv.Atoi(os.Getenv("NWAYACD_FLOOD_N"))
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(os.Getenv("NWAYACD_FLOOD_FROM"))}}
	conns := make([]net.Conn, 0, n)
	failed := 0
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			failed++
			continue
		}
		conns = append(conns, c)
	}
	fmt.Printf("opened %d failed %d\n", len(conns), failed)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
}

type flooder struct {
	cmd    *exec.Cmd
	stdin  interface{ Close() error }
	result chan string
}

func startFlooder(t *testing.T, addr, from string, n int) *flooder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NWAYACD_FLOOD_ADDR="+addr, "NWAYACD_FLOOD_FROM="+from, "NWAYACD_FLOOD_N="+strconv.Itoa(n))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &flooder{cmd: cmd, stdin: in, result: make(chan string, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "opened ") {
				f.result <- sc.Text()
			}
		}
		close(f.result)
	}()
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return f
}

// TestConnectionFlood opens 20,000 idle connections (two child processes of
// 10,000 each, from 127.0.0.2 and 127.0.0.3, so that neither child's
// descriptor limit caps the flood) and checks that an authenticated request
// from 127.0.0.1 still answers within 1 s during the flood and after it, and
// that the server itself holds only a bounded number of descriptors.
func TestConnectionFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short mode")
	}
	limit := raiseNoFile(t)
	ts := startServer(t, Config{}, nil)
	tok := "Nway " + ts.login(t)
	t.Logf("RLIMIT_NOFILE %d; MaxConns %d, MaxConnsPerIP %d, ReadTimeout %v", limit, ts.cfg.MaxConns, ts.cfg.MaxConnsPerIP, ts.cfg.ReadTimeout)
	baseFDs := openFDs()

	// One persistent authenticated client, as a dashboard would keep.
	probe := func() (time.Duration, error) {
		start := time.Now()
		c, err := net.DialTimeout("tcp", ts.addr, time.Second)
		if err != nil {
			return time.Since(start), err
		}
		defer c.Close()
		_ = c.SetDeadline(start.Add(time.Second))
		fmt.Fprintf(c, "GET /api/get_extensions HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nConnection: close\r\n\r\n", tok)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return time.Since(start), err
		}
		if !strings.HasPrefix(line, "HTTP/1.1 200") {
			return time.Since(start), fmt.Errorf("answer %q", line)
		}
		return time.Since(start), nil
	}

	const perChild = 10000
	f1 := startFlooder(t, ts.addr, "127.0.0.2", perChild)
	f2 := startFlooder(t, ts.addr, "127.0.0.3", perChild)

	var (
		mu       sync.Mutex
		during   []time.Duration
		maxFDs   int
		failures []error
	)
	stop := make(chan struct{})
	probing := make(chan struct{})
	go func() {
		defer close(probing)
		for {
			select {
			case <-stop:
				return
			default:
			}
			d, err := probe()
			mu.Lock()
			during = append(during, d)
			if err != nil {
				failures = append(failures, fmt.Errorf("after %v: %w", d, err))
			}
			maxFDs = max(maxFDs, openFDs())
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	deadline := time.After(60 * time.Second)
	opened := 0
	for _, f := range []*flooder{f1, f2} {
		select {
		case r := <-f.result:
			var o, fl int
			fmt.Sscanf(r, "opened %d failed %d", &o, &fl)
			opened += o
			t.Logf("flooder: %s", r)
		case <-deadline:
			t.Fatal("flooders did not finish opening within 60 s")
		}
	}
	// Hold the flood a moment longer while probing.
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-probing

	mu.Lock()
	var worst time.Duration
	for _, d := range during {
		worst = max(worst, d)
	}
	mu.Unlock()
	t.Logf("flood: %d connections opened; %d probes during it, slowest %v; server descriptors %d before, at most %d during",
		opened, len(during), worst, baseFDs, maxFDs)
	for _, err := range failures {
		t.Errorf("authenticated request during the flood: %v", err)
	}
	if opened < 2*perChild*9/10 {
		t.Errorf("only %d of %d flood connections opened", opened, 2*perChild)
	}
	if maxFDs > baseFDs+2*ts.cfg.MaxConnsPerIP+64 {
		t.Errorf("the server held %d descriptors during the flood (%d before): per-address limit not applied", maxFDs, baseFDs)
	}

	// After the flood (still held open by the children, then released).
	for i := range 5 {
		d, err := probe()
		if err != nil {
			t.Errorf("request %d after the flood: %v (%v)", i, err, d)
		}
		t.Logf("after the flood: %v", d)
	}
	f1.stdin.Close()
	f2.stdin.Close()
	if d, err := probe(); err != nil {
		t.Errorf("request after the flooders left: %v (%v)", err, d)
	}
}
