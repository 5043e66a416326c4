package auth

import (
	"errors"
	"testing"
	"time"
)

func TestDenyList(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	d := NewDenyList(2, func() time.Time { return now })
	if err := d.Deny("a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !d.Denied("a") || d.Denied("b") || d.Denied("") {
		t.Fatal("Denied wrong")
	}
	if err := d.Deny("b", now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := d.Deny("c", now.Add(time.Minute)); !errors.Is(err, ErrDenyListFull) {
		t.Fatalf("third id in a list of two: err = %v", err)
	}
	if err := d.Deny("", now.Add(time.Minute)); err == nil {
		t.Fatal("empty id accepted")
	}
	if err := d.Deny("x", now); err == nil {
		t.Fatal("expired token accepted")
	}
	now = now.Add(90 * time.Second) // a's token has expired: its denial is forgotten
	if d.Denied("a") {
		t.Fatal("denial outlived its token")
	}
	if err := d.Deny("c", now.Add(time.Minute)); err != nil {
		t.Fatalf("room made by an expired denial: %v", err)
	}
	l := d.List()
	if len(l) != 2 || l[0].ID != "b" || l[1].ID != "c" {
		t.Fatalf("List = %+v", l)
	}
}
