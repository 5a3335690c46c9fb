package sim

import (
	"fmt"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// The build order: the board reads the sim's clock and sends switch
// commands to the sim; then the sim provisions the board and drives it.
func Example() {
	s := New(Config{
		Seed:           1,
		Groups:         []GroupSpec{{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 10}},
		CallsPerSecond: 0.2,
		MaxCalls:       500,
		AnswerRate:     0.9,
		AnswerDelay:    [2]time.Duration{2 * time.Second, 10 * time.Second},
		TalkTime:       [2]time.Duration{30 * time.Second, 3 * time.Minute},
		Patience:       [2]time.Duration{time.Minute, 5 * time.Minute},
	})
	board := newEngineBoard(acd.Config{WrapUp: 20 * time.Second}, s.Clock(), s)
	if err := s.Attach(board); err != nil {
		fmt.Println(err)
		return
	}
	drained := s.Drain(24 * time.Hour)
	st := s.Stats()
	fmt.Println(drained, st.Arrived, st.Answered+st.Abandoned+st.GaveUp+st.Blacklisted == st.Arrived)
	// Output: true 500 true
}
