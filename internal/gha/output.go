package gha

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The runner's file commands ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_STATE)
// frame each value as a heredoc: name<<DELIMITER, the value, DELIMITER.
// go-githubactions v1.3.0 always uses the same delimiter, so a value that
// contains it (an image ID or a path from a pull request) ends the value
// early and defines outputs of its own choosing. Each write here takes a
// fresh random delimiter, which no value can know in advance.

// delimiterPrefix starts every delimiter; the rest is 16 random bytes.
const delimiterPrefix = "ghadelimiter_"

// newDelimiter returns a fresh random heredoc delimiter.
func newDelimiter() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random delimiter: %w", err)
	}
	return delimiterPrefix + hex.EncodeToString(b[:]), nil
}

// FileCommand formats one name=value entry of a runner file command with
// delimiter. It refuses a name the runner would read differently (empty,
// with a line break, '<' or '=': the runner splits a line at the first "<<"
// or "=") and a value that contains the delimiter.
func FileCommand(name, value, delimiter string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty name")
	case strings.ContainsAny(name, "\r\n"):
		return "", fmt.Errorf("name %q contains a line break", name)
	case strings.ContainsAny(name, "<="):
		return "", fmt.Errorf("name %q contains < or =", name)
	case !strings.HasPrefix(delimiter, delimiterPrefix) || strings.ContainsAny(delimiter, "\r\n"):
		return "", fmt.Errorf("bad delimiter %q", delimiter)
	case strings.Contains(value, delimiter):
		return "", fmt.Errorf("the value of %s contains the delimiter", name)
	}
	return name + "<<" + delimiter + "\n" + value + "\n" + delimiter + "\n", nil
}

// AppendFileCommand appends name=value to the runner's command file at path
// (the file $GITHUB_OUTPUT, $GITHUB_ENV or $GITHUB_STATE names) with a
// random delimiter of its own.
func AppendFileCommand(path, name, value string) error {
	delim, err := newDelimiter()
	if err != nil {
		return err
	}
	entry, err := FileCommand(name, value, delim)
	if err != nil {
		return err
	}
	// O_APPEND: one write of the whole entry, after whatever other steps
	// and commands wrote (the runner creates the file empty).
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(entry); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
