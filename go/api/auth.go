package api

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"sync"
	"time"
)

// maxTokens bounds the token table; logging in beyond it evicts the token
// closest to expiry so repeated logins cannot grow memory without end.
const maxTokens = 4096

// tokenStore keeps only SHA-256 digests of tokens: a lookup by digest does
// not leak the token through timing, and a memory dump holds no usable token.
type tokenStore struct {
	mu        sync.RWMutex
	m         map[[sha256.Size]byte]*tokenEntry
	lastSweep time.Time
}

type tokenEntry struct {
	mu      sync.Mutex
	expires time.Time
}

func newTokenStore() *tokenStore {
	return &tokenStore{m: make(map[[sha256.Size]byte]*tokenEntry)}
}

// issue makes a 256-bit random token valid for ttl.
func (t *tokenStore) issue(now time.Time, ttl time.Duration) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	tok := hex.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(tok))
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) > time.Minute || len(t.m) >= maxTokens {
		t.sweepLocked(now)
	}
	if len(t.m) >= maxTokens {
		var oldest [sha256.Size]byte
		first := time.Time{}
		for k, e := range t.m {
			if first.IsZero() || e.expires.Before(first) {
				first, oldest = e.expires, k
			}
		}
		delete(t.m, oldest)
	}
	t.m[h] = &tokenEntry{expires: now.Add(ttl)}
	return tok, nil
}

func (t *tokenStore) sweepLocked(now time.Time) {
	t.lastSweep = now
	for k, e := range t.m {
		e.mu.Lock()
		dead := !now.Before(e.expires)
		e.mu.Unlock()
		if dead {
			delete(t.m, k)
		}
	}
}

// check reports whether tok is live and, when it is, extends it by ttl.
func (t *tokenStore) check(tok []byte, now time.Time, ttl time.Duration) bool {
	if len(tok) == 0 {
		return false
	}
	h := sha256.Sum256(tok)
	t.mu.RLock()
	e := t.m[h]
	t.mu.RUnlock()
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !now.Before(e.expires) {
		return false
	}
	e.expires = now.Add(ttl)
	return true
}

// equalSecret compares in time independent of where a and b differ (and of
// their lengths, by comparing digests).
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

var nwayScheme = []byte("nway")

// parseAuthorization extracts the token from "Nway <token>", tolerating a
// missing space after the header's colon, extra spaces around the token
// and any case of the scheme.
func parseAuthorization(v []byte) []byte {
	v = bytes.TrimSpace(v)
	if len(v) < len(nwayScheme) || !bytes.EqualFold(v[:len(nwayScheme)], nwayScheme) {
		return nil
	}
	rest := v[len(nwayScheme):]
	if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
		return nil
	}
	return bytes.TrimSpace(rest)
}

// loginLimiter is a token bucket of failed logins per client address
// (IPv6 clients by /64, as one host usually owns the whole prefix).
type loginLimiter struct {
	mu        sync.Mutex
	burst     float64
	refill    time.Duration
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxLimiterEntries bounds the table; when it is full of recently failing
// addresses, new addresses are refused rather than tracked.
const maxLimiterEntries = 100000

func newLoginLimiter(burst int, refill time.Duration) *loginLimiter {
	return &loginLimiter{burst: float64(burst), refill: refill, m: make(map[string]*bucket)}
}

func limiterKey(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return string(v4)
	}
	if len(ip) == net.IPv6len {
		return string(ip[:8])
	}
	return string(ip)
}

func (l *loginLimiter) level(b *bucket, now time.Time) float64 {
	n := b.tokens + float64(now.Sub(b.at))/float64(l.refill)
	return math.Min(n, l.burst)
}

// allow reports whether ip may try to log in now; when not, wait is how long
// until it may.
func (l *loginLimiter) allow(ip net.IP, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[limiterKey(ip)]
	if b == nil {
		if len(l.m) >= maxLimiterEntries {
			l.sweepLocked(now)
			if len(l.m) >= maxLimiterEntries {
				return false, l.refill
			}
		}
		return true, 0
	}
	n := l.level(b, now)
	if n >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - n) * float64(l.refill))
}

// fail charges one failed login to ip.
func (l *loginLimiter) fail(ip net.IP, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := limiterKey(ip)
	b := l.m[k]
	if b == nil {
		if len(l.m) >= 1024 && now.Sub(l.lastSweep) > time.Minute {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.m[k] = b
	}
	b.tokens = math.Max(l.level(b, now)-1, 0)
	b.at = now
}

// sweepLocked forgets buckets that have refilled completely.
func (l *loginLimiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for k, b := range l.m {
		if l.level(b, now) >= l.burst {
			delete(l.m, k)
		}
	}
}
