package jwt

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/events"
)

func TestCheckTimes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) *NumericDate { n := NumericDate(now.Add(d).Unix()); return &n }
	rules := Times{Now: now, Skew: time.Minute, ExpiryLeeway: time.Second, RequireExpiry: true, RequireIssuedAt: true}
	tests := []struct {
		name string
		c    Registered
		want error
	}{
		{"valid", Registered{Expiry: at(time.Hour), IssuedAt: at(0)}, nil},
		{"exp now, within the leeway", Registered{Expiry: at(0), IssuedAt: at(-time.Hour)}, nil},
		{"exp one leeway ago", Registered{Expiry: at(-time.Second), IssuedAt: at(-time.Hour)}, ErrExpired},
		{"no exp", Registered{IssuedAt: at(0)}, ErrExpired},
		{"nbf within the skew", Registered{Expiry: at(time.Hour), NotBefore: at(time.Minute), IssuedAt: at(0)}, nil},
		{"nbf past the skew", Registered{Expiry: at(time.Hour), NotBefore: at(time.Minute + time.Second), IssuedAt: at(0)}, ErrNotYetValid},
		{"iat past the skew", Registered{Expiry: at(time.Hour), IssuedAt: at(2 * time.Minute)}, ErrIssuedInFuture},
		{"no iat", Registered{Expiry: at(time.Hour)}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.CheckTimes(rules)
			if !errors.Is(err, tt.want) || (tt.want != nil && !errors.Is(err, ErrInvalidToken)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if err := (&Registered{}).CheckTimes(Times{Now: now}); err != nil {
		t.Fatalf("nothing required: %v", err)
	}
}

func TestDecode(t *testing.T) {
	var c Claims
	if err := Decode([]byte(`{"aud":"a","exp":1.5,"nbf":2}`), &c); err != nil || !c.Audience.Contains("a") || c.Expiry.Time().UnixMilli() != 1500 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{`{"aud":1}`, `{"exp":-1}`, `{"nbf":1e12}`, `{"iat":"1"}`, `[]`} {
		if err := Decode([]byte(bad), &Claims{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if (*NumericDate)(nil).Time() != (time.Time{}) {
		t.Error("nil NumericDate is not the zero time")
	}
}

func TestSentinels(t *testing.T) {
	a, b := NewError(events.ReasonNonce, "a"), NewError(events.ReasonNonce, "a")
	if errors.Is(a, b) || !errors.Is(a, ErrInvalidToken) || errors.Is(ErrInvalidToken, a) {
		t.Fatal("sentinels must be distinct, and each match the umbrella")
	}
	if events.ReasonOf(fmt.Errorf("%w: at %v", ErrExpired, time.Now())) != events.ReasonExpired || events.ReasonOf(a) != events.ReasonNonce {
		t.Fatal("sentinels must state their reasons")
	}
}
