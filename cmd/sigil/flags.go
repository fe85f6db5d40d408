package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sigilauth/sigil/bootstrap"
)

// settingAnnotation marks the flags that are settings of bootstrap, which
// the help lists apart, grouped, with their variables and defaults.
const settingAnnotation = "sigil_setting"

// settingFlags records which setting flags a command line gave, for
// bootstrap.LoadFrom: bootstrap parses and checks the values itself, so
// that a bad one is refused with the same message whichever way it came
// (flag, variable or file), and only flags given override the others.
type settingFlags struct {
	given map[string]string
}

// recorded is the pflag.Value of a setting flag: it keeps the text given.
type recorded struct {
	name, kind string
	into       map[string]string
}

func (r recorded) String() string { return r.into[r.name] }
func (r recorded) Type() string   { return r.kind }
func (r recorded) Set(v string) error {
	r.into[r.name] = v
	return nil
}

// addSettingFlags declares every setting as a flag of c, persistent for a
// command whose subcommands all read the settings (clients, keys), with
// the former names of renamed settings as hidden flags, and --config. A
// name c already has as a flag of its own (--admin-url, say, were a
// setting ever to take it) stays c's own.
func addSettingFlags(c *cobra.Command, persistent bool) *settingFlags {
	sf := &settingFlags{given: map[string]string{}}
	fs := c.Flags()
	if persistent {
		fs = c.PersistentFlags()
	}
	add := func(name, kind, usage, def string, hidden bool) {
		if fs.Lookup(name) != nil || c.LocalFlags().Lookup(name) != nil {
			return
		}
		f := fs.VarPF(recorded{name: name, kind: kind, into: sf.given}, name, "", usage)
		f.DefValue = def
		f.Hidden = hidden
		// No NoOptDefVal for bool settings: --resource-audience-check false
		// must stay a flag and its value, as every setting takes one.
		f.Annotations = map[string][]string{settingAnnotation: {"true"}}
	}
	add(bootstrap.ConfigFlag, "file", "YAML file of settings (keys as in the table, flat or nested one level)", "", false)
	for _, s := range bootstrap.Settings {
		add(s.Name, s.Type(), s.Usage, s.Default, false)
		if former := s.FormerName(); former != "" {
			add(former, s.Type(), "former name of --"+s.Name, s.Default, true)
		}
	}
	return sf
}

// flagError turns pflag's errors into usage errors on one line, with the
// nearest flag the command has for an unknown one: cobra suggests
// commands, not flags.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	if m := unknownFlag.FindStringSubmatch(msg); m != nil {
		name := strings.TrimLeft(m[1], "-")
		msg = "unknown flag --" + name
		if m[2] != "" {
			// -auth-addr, as the standard flag package took it: pflag reads
			// a cluster of shorthands.
			name = strings.SplitN(strings.TrimPrefix(m[3], "-"), "=", 2)[0]
			msg = "unknown flag -" + m[2] + " in " + m[3]
		}
		if c.Flags().Lookup(name) != nil && m[2] != "" {
			msg += "; long flags take two dashes: --" + name
		} else if s := nearestFlag(c, name); s != "" {
			msg += "; did you mean --" + s + "?"
		}
	}
	return usagef("%s (see %s --help)", msg, c.CommandPath())
}

// unknownFlag matches pflag's "unknown flag: --name" and "unknown
// shorthand flag: 'x' in -x".
var unknownFlag = regexp.MustCompile(`^unknown (?:flag: (--\S+)|shorthand flag: '(.)' in (-\S+))`)

// nearestFlag is the visible flag of c nearest to name by edit distance,
// if it is near enough to be a typo: at most a third of its length.
func nearestFlag(c *cobra.Command, name string) string {
	best, bestDist := "", max(1, len(name)/3)+1
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := bootstrap.EditDistance(name, f.Name); d < bestDist || (d == bestDist && f.Name < best) {
			best, bestDist = f.Name, d
		}
	}
	c.LocalFlags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	return best
}

// settingGroups sorts the settings into the help's groups, by the first
// group whose prefixes one of their names starts with; the rest are
// "Other".
var settingGroups = []struct {
	title    string
	prefixes []string
}{
	{"Process", []string{"config", "role", "log-", "debug-addr", "admin-", "metrics-", "shutdown-period"}},
	{"TLS", []string{"tls-"}},
	{"Authorization server", []string{"auth-addr", "auth-base-path", "auth-issuer", "key-", "rsa-bits", "client-cache-", "demo-clients"}},
	{"Limits against brute force and floods", []string{"credential-cache-ttl", "hash-", "auth-failure-", "trusted-proxies", "token-rate-limit", "introspection-rate-limit", "revocation-rate-limit", "max-"}},
	{"Outbound calls", []string{"jwks-", "outbound-"}},
	{"Resource server", []string{"resource-"}},
	{"Storage", []string{"database-", "token-cleanup-interval", "redis-", "outage-probe-interval"}},
}

func settingGroup(name string) string {
	for _, g := range settingGroups {
		for _, p := range g.prefixes {
			if name == p || (strings.HasSuffix(p, "-") && strings.HasPrefix(name, p)) {
				return g.title
			}
		}
	}
	return "Other"
}

// printUsage is every command's usage: cobra's layout, with the settings
// apart from the command's own flags, grouped, each with its variable and
// default.
func printUsage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n")
	if c.Runnable() && c.Annotations["group"] != "true" {
		fmt.Fprintf(w, "  %s\n", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "  %s [command]\n", c.CommandPath())
	}
	if len(c.Aliases) > 0 {
		fmt.Fprintf(w, "\nAliases:\n  %s\n", strings.Join(append([]string{c.Name()}, c.Aliases...), ", "))
	}
	if c.HasExample() {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(c.Example, "\n"))
	}
	if c.HasAvailableSubCommands() {
		printCommands(w, c)
	}
	own := pflag.NewFlagSet("own", pflag.ContinueOnError)
	var settings []*pflag.Flag
	sort := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if _, ok := f.Annotations[settingAnnotation]; ok {
			settings = append(settings, f)
			return
		}
		if own.Lookup(f.Name) == nil {
			own.AddFlag(f)
		}
	}
	c.LocalFlags().VisitAll(sort)
	c.InheritedFlags().VisitAll(sort)
	if own.HasAvailableFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", own.FlagUsagesWrapped(100))
	}
	if len(settings) > 0 {
		// In the order of bootstrap.Settings, which README.md follows.
		order := bootstrap.FlagNames()
		slices.SortStableFunc(settings, func(a, b *pflag.Flag) int {
			return slices.Index(order, a.Name) - slices.Index(order, b.Name)
		})
		fmt.Fprintf(w, "\nSettings (each also a SIGIL_* environment variable and a key of the --config file;\n"+
			"flags win over the environment, which wins over the file):\n")
		printSettingFlags(w, settings)
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nUse \"%s [command] --help\" for more about a command.\n", c.CommandPath())
	}
	return nil
}

func printCommands(w io.Writer, c *cobra.Command) {
	width := 0
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			width = max(width, len(sub.Name()))
		}
	}
	line := func(sub *cobra.Command) {
		fmt.Fprintf(w, "  %-*s  %s\n", width, sub.Name(), sub.Short)
	}
	printed := map[*cobra.Command]bool{}
	for _, g := range c.Groups() {
		fmt.Fprintf(w, "\n%s\n", g.Title)
		for _, sub := range c.Commands() {
			if sub.GroupID == g.ID && sub.IsAvailableCommand() {
				line(sub)
				printed[sub] = true
			}
		}
	}
	title := "\nCommands:\n"
	if len(c.Groups()) > 0 {
		title = "\nOther commands:\n"
	}
	for _, sub := range c.Commands() {
		if !printed[sub] && sub.IsAvailableCommand() {
			fmt.Fprint(w, title)
			title = ""
			line(sub)
		}
	}
}

// printSettingFlags lists setting flags by group: name and type, then the
// meaning, wrapped, with the variable and the default.
func printSettingFlags(w io.Writer, flags []*pflag.Flag) {
	byGroup := map[string][]*pflag.Flag{}
	for _, f := range flags {
		byGroup[settingGroup(f.Name)] = append(byGroup[settingGroup(f.Name)], f)
	}
	titles := make([]string, 0, len(settingGroups)+1)
	for _, g := range settingGroups {
		titles = append(titles, g.title)
	}
	titles = append(titles, "Other")
	for _, title := range titles {
		group := byGroup[title]
		if len(group) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n  %s:\n", title)
		for _, f := range group {
			fmt.Fprintf(w, "    --%s %s\n", f.Name, f.Value.Type())
			// The variable and the default stay on one line, for grep.
			where := "[SIGIL_CONFIG]"
			if f.Name != bootstrap.ConfigFlag {
				where = fmt.Sprintf("[%s, default %q]", envOf(f.Name), f.DefValue)
			}
			for _, l := range wrap(append(strings.Fields(f.Usage), where), 88) {
				fmt.Fprintf(w, "          %s\n", l)
			}
		}
	}
}

func envOf(name string) string {
	i := slices.IndexFunc(bootstrap.Settings, func(s bootstrap.Setting) bool { return s.Name == name })
	if i < 0 {
		return ""
	}
	return bootstrap.Settings[i].Env()
}

// wrap puts words on lines of at most width bytes, unless a word is
// longer.
func wrap(words []string, width int) []string {
	var lines []string
	line := ""
	for _, word := range words {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}
