package bootstrap

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEveryFieldHasOneSetting: a Config field no setting binds would stay
// zero whatever the operator writes, and two settings on one field would
// hide each other. Fields are told apart by address and type, so that a
// setting binding the wrong field of the right type is caught as well.
func TestEveryFieldHasOneSetting(t *testing.T) {
	type field struct {
		addr uintptr
		typ  reflect.Type
	}
	var c Config
	names := map[field]string{}
	cv := reflect.ValueOf(&c).Elem()
	for i := range cv.NumField() {
		if f := cv.Type().Field(i); f.IsExported() {
			names[field{cv.Field(i).Addr().Pointer(), f.Type}] = f.Name
		}
	}
	boundBy := map[string]string{}
	for _, s := range Settings {
		p := reflect.ValueOf(s.bind(&c))
		if p.Kind() != reflect.Pointer {
			t.Errorf("setting %s binds a %s, not a pointer to a field", s.Name, p.Type())
			continue
		}
		name, ok := names[field{p.Pointer(), p.Type().Elem()}]
		switch {
		case !ok:
			t.Errorf("setting %s binds no field of Config", s.Name)
		case boundBy[name] != "":
			t.Errorf("settings %s and %s both bind Config.%s", boundBy[name], s.Name, name)
		default:
			boundBy[name] = s.Name
		}
	}
	for _, name := range names {
		if boundBy[name] == "" {
			t.Errorf("Config.%s has no setting: add one to Settings (and README.md), or unexport it", name)
		}
	}
}

// TestFormerNamesAreNoLongerSettings: a former name must not be a setting
// of its own, or the two would fight over one value, and README.md names
// each beside the name that replaced it.
func TestFormerNamesAreNoLongerSettings(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(raw)), " ")
	names := map[string]bool{}
	for _, s := range Settings {
		names[s.Name] = true
	}
	for now, former := range formerNames {
		if !names[now] || names[former] {
			t.Errorf("%s was renamed %s: want %s a setting and %s not", former, now, now, former)
		}
		if note := "`" + former + "` is now `" + now + "`"; !strings.Contains(readme, note) &&
			!strings.Contains(readme, "`"+former+"` is `"+now+"`") {
			t.Errorf("README.md does not say that %s is now %s", former, now)
		}
	}
}
