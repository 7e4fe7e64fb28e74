package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/crossclear/crossclear/clearing"
	"github.com/crossclear/crossclear/clearing/store"
	"github.com/crossclear/crossclear/fx"
	"github.com/crossclear/crossclear/messages/inbound"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed (or the books do not balance)
	exitUsage = 2 // the command line or configuration is wrong
)

// cli is what a command may touch: its output streams and the environment.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand, "serve" or "cycle close".
type command struct {
	name    string
	args    string // positional arguments for the usage line
	summary string
	about   string // paragraphs after the usage line
	example string
	setup   func(fs *flag.FlagSet) func(ctx context.Context, c *cli, args []string) error
}

// commands is the list `crossclear help` prints, in that order.
var commands = []*command{serveCmd, demoCmd, migrateCmd, cycleCloseCmd, cycleShowCmd, ledgerCheckCmd, paymentShowCmd, merchantStatementCmd, participantLimitsCmd,
	ratesLoadECBCmd, ratesListCmd, quoteCmd, isoInspectCmd, filesPushCmd, filesPullCmd, keysPublishCmd, keysRotateCmd, keysVerifyCmd,
	regulatorKeysCmd, regulatorAddEndpointCmd, regulatorRemoveEndpointCmd, regulatorEndpointsCmd, regulatorAccessLogCmd, regulatorReceiveCmd, regulatorAddWitnessCmd, regulatorRemoveWitnessCmd, regulatorWitnessesCmd, verifyCmd,
	witnessServeCmd, witnessKeyCmd, witnessAddLogCmd, witnessLogsCmd,
	screenCmd, auditCmd, apikeyCreateCmd, benchCmd, versionCmd}

// operatorCLI is who the command line acts as: whoever can run it can read
// the database, so it is the operator.
var operatorCLI = clearing.Actor{Role: clearing.RoleOperator, Subject: "cli"}

// usageError is a mistake on the command line: exit code 2.
type usageError struct {
	cmd string // "" for the top level
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// exitCode ends a command with a code of its own after it printed why.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		printCommands(stderr)
		return exitUsage
	}
	switch {
	case isHelp(args[0]):
		// "help", "help --help", "help help": the list of commands;
		// "help cycle": the group's; "help cycle close": the command's.
		topics := args[1:]
		for len(topics) > 0 && isHelp(topics[0]) {
			topics = topics[1:]
		}
		if len(topics) == 0 {
			printCommands(stdout)
			return exitOK
		}
		if group := groupCommands(topics[0]); len(group) > 0 && len(topics) == 1 {
			printGroup(stdout, topics[0], group)
			return exitOK
		}
		cmd, _, err := findCommand(topics)
		if err != nil {
			return c.fail("", err)
		}
		fs := newFlagSet(cmd)
		setupCommand(cmd, fs)
		printUsage(stdout, cmd, fs)
		return exitOK
	case args[0] == "-v" || args[0] == "-version" || args[0] == "--version":
		args = []string{"version"}
	case len(args) > 1 && isHelp(args[1]):
		// "cycle --help", "cycle -h", "cycle help": the group's commands.
		if group := groupCommands(args[0]); len(group) > 0 {
			printGroup(stdout, args[0], group)
			return exitOK
		}
	}
	cmd, rest, err := findCommand(args)
	if err != nil {
		return c.fail("", err)
	}
	fs := newFlagSet(cmd)
	runCmd := setupCommand(cmd, fs)
	positional, err := parseFlags(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, cmd, fs)
		return exitOK
	}
	if err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
			msg = "unknown flag -" + strings.TrimLeft(name, "-")
			if len(strings.TrimLeft(name, "-")) > 1 {
				msg = "unknown flag --" + strings.TrimLeft(name, "-")
			}
		}
		return c.fail(cmd.name, usagef(cmd.name, "%s", msg))
	}
	return c.fail(cmd.name, runCmd(ctx, c, positional))
}

// fail prints err and returns its exit code.
func (c *cli) fail(cmd string, err error) int {
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	prefix := "crossclear"
	if cmd != "" {
		prefix += " " + cmd
	}
	var ue *usageError
	var ce *configError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "%s: %s\n", prefix, ue.msg)
		if ue.cmd != "" {
			fmt.Fprintf(c.stderr, "Run 'crossclear %s --help' for usage.\n", ue.cmd)
		} else {
			fmt.Fprintln(c.stderr, "Run 'crossclear help' for the list of commands.")
		}
		return exitUsage
	case errors.As(err, &ce):
		fmt.Fprintf(c.stderr, "%s: %s\n", prefix, ce.msg)
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(c.stderr, "%s: interrupted\n", prefix)
		return exitError
	}
	fmt.Fprintf(c.stderr, "%s: %v\n", prefix, err)
	return exitError
}

// findCommand matches the longest command name ("cycle close") at the
// start of args and returns the rest.
func findCommand(args []string) (*command, []string, error) {
	for _, cmd := range commands {
		words := strings.Fields(cmd.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == cmd.name {
			return cmd, args[len(words):], nil
		}
	}
	// A group without (or with a wrong) subcommand: "cycle", "cycle foo".
	var group []string
	for _, cmd := range groupCommands(args[0]) {
		_, sub, _ := strings.Cut(cmd.name, " ")
		group = append(group, sub)
	}
	if len(group) > 0 {
		if len(args) == 1 || strings.HasPrefix(args[1], "-") {
			return nil, nil, usagef(args[0], "%q needs a subcommand: %s", args[0], strings.Join(group, ", "))
		}
		return nil, nil, usagef(args[0], "unknown command %q (did you mean one of: %s %s?)", strings.Join(args[:2], " "), args[0], strings.Join(group, ", "+args[0]+" "))
	}
	return nil, nil, usagef("", "unknown command %q", args[0])
}

// isHelp is an argument that asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// groupCommands are the commands of a group ("cycle": cycle close, cycle
// show), in the order of commands; none when name is not a group.
func groupCommands(name string) []*command {
	var group []*command
	for _, cmd := range commands {
		if first, _, ok := strings.Cut(cmd.name, " "); ok && first == name {
			group = append(group, cmd)
		}
	}
	return group
}

// alwaysJSON are the commands that print JSON and nothing else: they take
// --json too, so that every command that prints data takes it.
var alwaysJSON = []*command{keysPublishCmd, regulatorKeysCmd, screenCmd, isoInspectCmd}

// setupCommand defines cmd's flags on fs and returns what runs it.
func setupCommand(cmd *command, fs *flag.FlagSet) func(ctx context.Context, c *cli, args []string) error {
	runCmd := cmd.setup(fs)
	if slices.Contains(alwaysJSON, cmd) && fs.Lookup("json") == nil {
		fs.Bool("json", false, "print JSON: this command always does; taken for scripts that pass --json to every command")
	}
	return runCmd
}

// jsonFlag defines --json on a command that prints a table by default.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print one JSON document instead of the table, for scripts")
}

// printJSON prints v as one indented JSON document.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newFlagSet(cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet("crossclear "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints errors and help itself
	fs.Usage = func() {}
	return fs
}

// parseFlags parses flags anywhere among positional arguments
// ("cycle show 3 --database x" as well as "cycle show --database x 3");
// everything after "--" is positional.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func printCommands(w io.Writer) {
	fmt.Fprint(w, `crossclear runs a cross-border clearing service: partner banks hold
payments in escrow until the buyer confirms, a deadline passes or a dispute
ends, and released payments are netted per currency in settlement cycles.

Usage: crossclear <command> [flags] [arguments]

Commands:
`)
	const helpLine = "help [command]"
	width := len(helpLine)
	for _, cmd := range commands {
		width = max(width, len(cmd.name))
	}
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, helpLine, "this list, a group's commands, or one command's help")
	fmt.Fprint(w, `
Start here:
  crossclear demo                      a world of banks and 3000 payments, then the API
  crossclear migrate && crossclear apikey create --role operator && crossclear serve

Configuration, lowest precedence first: defaults, a TOML file (--config FILE
or $CROSSCLEAR_CONFIG), environment variables CROSSCLEAR_<KEY>, flags.
Keys: `+strings.Join(settingKeys(), ", ")+`.
Run 'crossclear <command> --help' for a command's flags and examples.
`)
}

// printGroup lists a group's commands ("crossclear cycle --help").
func printGroup(w io.Writer, name string, group []*command) {
	fmt.Fprintf(w, "Usage: crossclear %s <command> [flags] [arguments]\n\nCommands:\n", name)
	width := 0
	for _, cmd := range group {
		width = max(width, len(cmd.name))
	}
	for _, cmd := range group {
		fmt.Fprintf(w, "  %-*s  %s\n", width, cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "\nRun 'crossclear %s <command> --help' for a command's flags and examples.\n", name)
}

func printUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	line := "crossclear " + cmd.name
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		line += " [flags]"
	}
	if cmd.args != "" {
		line += " " + cmd.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", line, strings.TrimSpace(cmd.about))
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			if _, rest, ok := strings.Cut(usage, metaSep); ok {
				usage = rest // the placeholder was only there for UnquoteUsage
			}
			if f.DefValue != "" && f.DefValue != "false" {
				usage += " (default " + f.DefValue + ")"
			}
			head := "  --" + f.Name
			if name != "" {
				head += " " + name
			}
			const indent = 30
			lines := wrap(usage, 100-indent)
			if len(head) < indent-1 {
				fmt.Fprintf(w, "%-*s%s\n", indent, head, lines[0])
				lines = lines[1:]
			} else {
				fmt.Fprintln(w, head)
			}
			for _, l := range lines {
				fmt.Fprintf(w, "%*s%s\n", indent, "", l)
			}
		})
	}
	if cmd.example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(cmd.example, "\n"))
	}
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
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

// openStore opens the configured database. Unless create is set, a SQLite
// file must already exist (so that a typo does not create an empty one)
// and the schema must be migrated.
// openExisting loads the configuration and opens its existing, migrated
// database: what every command that only works on data does.
func (cf *configFlags) openExisting(ctx context.Context, c *cli) (*store.Store, error) {
	cfg, err := cf.load(c.getenv)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, false)
}

func openStore(ctx context.Context, cfg Config, create bool) (*store.Store, error) {
	if !create && !store.IsPostgres(cfg.Database) {
		path := sqlitePath(cfg.Database)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s (run 'crossclear migrate' to create it, or point --database / CROSSCLEAR_DATABASE at it)", path)
		}
	}
	// Every refund sends the buyer's bank its pacs.004, whichever command makes it.
	s, err := store.Open(ctx, cfg.Database, store.Options{ReleaseAfter: cfg.AutoReleaseAfter, FX: fxOptions(cfg), Refunds: inbound.RefundFile(cfg.OperatorBIC),
		Pool: cfg.DatabasePool})
	if err != nil {
		return nil, err
	}
	if !create {
		if v, err := s.SchemaVersion(ctx); err != nil || v == 0 {
			s.Close()
			return nil, fmt.Errorf("the database %s has no crossclear schema: run 'crossclear migrate' first", store.Redact(cfg.Database))
		}
	}
	return s, nil
}

// fxOptions is the FX configuration with an empty rate book: serve fills
// it from the rates stored in the database, then from POST /v1/rates.
func fxOptions(cfg Config) store.FXOptions {
	return store.FXOptions{Book: &fx.Book{}, Provider: cfg.FXProvider, FeeBps: cfg.FXFeeBps, SpreadBps: cfg.FXSpreadBps,
		MaxRateAge: cfg.FXMaxRateAge, QuoteTTL: cfg.FXQuoteTTL, ResultChargedTo: clearing.FXResultCharge(cfg.FXResultChargedTo),
		ReportingCurrency: cfg.ReportingCurrency}
}

// sqlitePath is the file behind a SQLite DSN ("sqlite:x.db", "file:x.db?…").
func sqlitePath(dsn string) string {
	p := strings.TrimPrefix(dsn, "sqlite:")
	p = strings.TrimPrefix(p, "//")
	p = strings.TrimPrefix(p, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// engineName describes where the data lives, without secrets.
func engineName(s *store.Store, dsn string) string {
	return fmt.Sprintf("%s at %s", s.Engine(), store.Redact(dsn))
}

// logger makes the command's logger on stderr.
func (c *cli) logger(cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// noArgs refuses positional arguments.
func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "unexpected argument %q", args[0])
	}
	return nil
}

// fieldError rewrites an error of the store that names a request field
// (bank_id, sell_amount) to name what the operator typed instead: flags
// maps each field to its flag ("--bank"), or to "" to drop the field (a
// positional argument). Invalid input is a usage error (exit code 2); a
// refusal, a missing record or anything else stays an error (exit code 1).
func fieldError(cmd string, err error, flags map[string]string) error {
	ce, ok := clearing.AsError(err)
	if !ok {
		return err
	}
	msg := ce.Msg
	if name, known := flags[ce.Field]; known {
		if name != "" {
			msg = name + ": " + msg
		}
	} else if ce.Field != "" {
		msg = ce.Field + ": " + msg
	}
	if ce.Kind == clearing.Invalid {
		return usagef(cmd, "%s", msg)
	}
	return errors.New(msg)
}
