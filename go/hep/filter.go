package hep

import (
	"encoding/binary"

	"golang.org/x/net/bpf"
)

// The capture is every SIP message of every call (about twelve a call),
// yet the module acts on three methods only. Each datagram that reaches
// the process wakes Go's scheduler; measured on FreeSWITCH under load,
// those wakes were a third of all the module's. Filter is a classic BPF
// program for the capture socket that lets the kernel drop the rest.
//
// It passes a superset of what the module acts on: a datagram is dropped
// only when its first vendor-0 payload chunk (Parse refuses a second one)
// starts with none of the methods' first four bytes. What it cannot read
// to that point (not HEP3, a chunk shorter than its header, more chunks
// than it walks) passes, and Parse judges it; a datagram that ends inside
// its chunks is dropped (a load past its end), as Parse would refuse it.

// filterChunks is how many chunks the program walks looking for the
// payload (sofia-sip sends it as the 11th or 12th; more pass unfiltered).
const filterChunks = 24

// maxFilterMethods bounds the methods, so that every jump of the program
// stays within the 255 instructions a classic BPF jump can skip.
const maxFilterMethods = 16

// udpHeader: a UDP socket's filter sees the datagram from its UDP header.
const udpHeader = 8

const (
	keepAll = 1 << 18 // bytes kept of a passed datagram: all of it
	lblPay  = -1
	lblKeep = -2
)

// Filter returns the program, or nil (no filter: every datagram passes)
// when methods is empty, holds one shorter than three letters (its four
// bytes would take in the request URI) or more than maxFilterMethods (the
// jumps past them would not fit). Each method is matched on its first
// four bytes with the space after it ("BYE ").
func Filter(methods ...string) []bpf.RawInstruction {
	if len(methods) == 0 || len(methods) > maxFilterMethods {
		return nil
	}
	for _, m := range methods {
		if len(m) < 3 {
			return nil
		}
	}
	type jump struct {
		at              int
		onTrue, onFalse int // label or 0 (next)
	}
	var prog []bpf.Instruction
	var jumps []jump
	labels := map[int]int{}
	cond := func(c bpf.JumpTest, v uint32, t, f int) {
		jumps = append(jumps, jump{len(prog), t, f})
		prog = append(prog, bpf.JumpIf{Cond: c, Val: v})
	}

	prog = append(prog, bpf.LoadAbsolute{Off: udpHeader, Size: 4})
	cond(bpf.JumpEqual, binary.BigEndian.Uint32([]byte("HEP3")), 0, lblKeep)
	prog = append(prog, bpf.LoadConstant{Dst: bpf.RegX, Val: udpHeader + 6})
	for range filterChunks {
		prog = append(prog, bpf.LoadIndirect{Off: 0, Size: 4}) // vendor, type
		cond(bpf.JumpEqual, chunkPayload, lblPay, 0)
		prog = append(prog, bpf.LoadIndirect{Off: 4, Size: 2}) // length
		cond(bpf.JumpLessThan, chunkHeaderSz, lblKeep, 0)
		prog = append(prog, bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{})
	}
	prog = append(prog, bpf.RetConstant{Val: keepAll}) // no payload among them
	labels[lblPay] = len(prog)
	prog = append(prog, bpf.LoadIndirect{Off: chunkHeaderSz, Size: 4})
	for _, m := range methods {
		head := [4]byte{' ', ' ', ' ', ' '}
		copy(head[:], m+" ")
		cond(bpf.JumpEqual, binary.BigEndian.Uint32(head[:]), lblKeep, 0)
	}
	prog = append(prog, bpf.RetConstant{Val: 0})
	labels[lblKeep] = len(prog)
	prog = append(prog, bpf.RetConstant{Val: keepAll})

	for _, j := range jumps {
		ji := prog[j.at].(bpf.JumpIf)
		skip := func(l int) uint8 {
			if l == 0 {
				return 0
			}
			d := labels[l] - j.at - 1
			if d < 0 || d > 255 {
				panic("hep: filter: a jump out of reach") // a bug above, not input
			}
			return uint8(d)
		}
		ji.SkipTrue, ji.SkipFalse = skip(j.onTrue), skip(j.onFalse)
		prog[j.at] = ji
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic("hep: filter: " + err.Error()) // a bug in the program above, not input
	}
	return raw
}
