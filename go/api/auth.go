package api

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
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

// loginLimiter throttles failed logins per (client address, user name)
// (IPv6 clients by /64, as one host usually owns the whole prefix), so one
// client guessing — or a reverse proxy carrying one — never locks out
// another address or another user. A global ceiling bounds failures over
// all keys: past it, only keys that failed recently are refused unchecked,
// so nobody's right password is refused for someone else's failures.
type loginLimiter struct {
	mu        sync.Mutex
	burst     int
	every     rate.Limit
	m         map[string]*rate.Limiter
	global    *rate.Limiter
	lastSweep time.Time
}

// maxLimiterEntries bounds the table; when it is full of recently failing
// keys, a new key is not tracked (the global ceiling still counts it).
const maxLimiterEntries = 100000

// maxKeyUser bounds the user name part of a key.
const maxKeyUser = 64

func newLoginLimiter(burst int, refill time.Duration) *loginLimiter {
	return &loginLimiter{
		burst:  burst,
		every:  rate.Every(refill),
		m:      make(map[string]*rate.Limiter),
		global: rate.NewLimiter(rate.Every(loginGlobalRefill), loginGlobalBurst),
	}
}

func limiterKey(ip net.IP, user string) string {
	if len(user) > maxKeyUser {
		user = user[:maxKeyUser]
	}
	return addrKey(ip) + "\x00" + user
}

// wait is how long until lim has a whole token at now.
func wait(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(lim.Limit()) * float64(time.Second))
}

// allow reports whether user may try to log in from ip now; when not, wait
// is how long until it may.
func (l *loginLimiter) allow(ip net.IP, user string, now time.Time) (ok bool, after time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[limiterKey(ip, user)]
	if lim == nil {
		return true, 0 // no recent failure: always checked
	}
	if w := wait(lim, now); w > 0 {
		return false, w
	}
	if w := wait(l.global, now); w > 0 && lim.TokensAt(now) < float64(l.burst) {
		return false, w
	}
	return true, 0
}

// fail charges one failed login of user from ip.
func (l *loginLimiter) fail(ip net.IP, user string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.global.AllowN(now, 1)
	k := limiterKey(ip, user)
	lim := l.m[k]
	if lim == nil {
		if len(l.m) >= 1024 && now.Sub(l.lastSweep) > time.Minute || len(l.m) >= maxLimiterEntries {
			l.sweepLocked(now)
		}
		if len(l.m) >= maxLimiterEntries {
			return
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[k] = lim
	}
	lim.AllowN(now, 1)
}

// sweepLocked forgets keys that have refilled completely.
func (l *loginLimiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, k)
		}
	}
}
