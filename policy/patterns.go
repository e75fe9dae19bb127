package policy

import (
	"fmt"
	"strings"

	"github.com/kubeopencode/kubeopencode/api/contract"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxPatternLength is the longest allowedNamespaces pattern: a namespace name is a DNS-1123 label
// of at most 63 characters, and a pattern that long already matches every name it can.
const MaxPatternLength = 63

// PatternError says why one allowedNamespaces pattern is invalid.
type PatternError struct {
	// Index is the pattern's position in the list.
	Index int
	// Pattern is the rejected pattern.
	Pattern string
	// Problem explains what is wrong, without the index or pattern.
	Problem string
}

// Error names the list index, so the message can be mapped to the Agent field.
func (e *PatternError) Error() string {
	return fmt.Sprintf("allowedNamespaces[%d] %q: %s", e.Index, e.Pattern, e.Problem)
}

// Unwrap returns the category: an invalid pattern is ErrInvalid.
func (e *PatternError) Unwrap() error { return contract.ErrInvalid }

// PatternErrors is every invalid pattern in a list, in list order. It is never empty when returned
// as an error.
type PatternErrors []*PatternError

// Is reports whether target is ErrInvalid, the category of every invalid pattern.
func (e PatternErrors) Is(target error) bool { return target == contract.ErrInvalid }

// FieldErrors returns the patterns' problems as field errors under p (e.g. the Agent's
// spec.allowedNamespaces), each at its index.
func (e PatternErrors) FieldErrors(p *field.Path) field.ErrorList {
	out := make(field.ErrorList, len(e))
	for i, pe := range e {
		out[i] = field.Invalid(p.Index(pe.Index), omit, fmt.Sprintf("%q: %s", pe.Pattern, pe.Problem))
	}
	return out
}

// Error joins the individual errors with "; ".
func (e PatternErrors) Error() string {
	msgs := make([]string, len(e))
	for i, pe := range e {
		msgs[i] = pe.Error()
	}
	return strings.Join(msgs, "; ")
}

// Patterns is a compiled allowedNamespaces list. The zero value matches nothing. A Patterns is
// immutable and safe for concurrent use.
type Patterns struct {
	any   bool     // some pattern is made only of '*': every name matches
	exact []string // patterns without wildcards, compared as strings
	globs []glob   // patterns with wildcards, matched by a bit-parallel automaton
}

// CompilePatterns validates and compiles an allowedNamespaces list. The grammar is the shared
// contract (CONTRIBUTING.md), the same one the CRD enforces: 1–63 characters from [a-z0-9-*?], the
// first and last not '-'; '*' matches any run of characters (including none), '?' exactly one.
// Patterns match whole names, case-sensitively.
//
// Every invalid pattern is reported, with its index, as a PatternErrors. On error the returned
// Patterns is nil: callers must not fall back to a partial list.
//
// An empty list compiles to a Patterns that matches nothing; "the Agent's own namespace only" is
// the NamespacePolicy's business, not the matcher's.
func CompilePatterns(patterns []string) (*Patterns, error) {
	var errs PatternErrors
	p := &Patterns{}
	if n := countWildcardPatterns(patterns); n > 0 {
		p.globs = make([]glob, 0, n) // globs are ~330 bytes: avoid regrowing
	}
	for i, pat := range patterns {
		if problem := patternProblem(pat); problem != "" {
			errs = append(errs, &PatternError{Index: i, Pattern: pat, Problem: problem})
			continue
		}
		switch {
		case strings.Trim(pat, "*") == "":
			p.any = true
		case !strings.ContainsAny(pat, "*?"):
			p.exact = append(p.exact, pat)
		default:
			p.globs = append(p.globs, compileGlob(pat))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

func countWildcardPatterns(patterns []string) int {
	n := 0
	for _, pat := range patterns {
		if strings.ContainsAny(pat, "*?") {
			n++
		}
	}
	return n
}

// ValidatePattern reports why a single pattern breaks the grammar, or nil. The error's Index is 0.
func ValidatePattern(pattern string) error {
	if problem := patternProblem(pattern); problem != "" {
		return &PatternError{Index: 0, Pattern: pattern, Problem: problem}
	}
	return nil
}

// patternProblem returns "" for a valid pattern, otherwise the first problem found.
func patternProblem(pat string) string {
	switch {
	case pat == "":
		return "must not be empty"
	case len(pat) > MaxPatternLength:
		return fmt.Sprintf("must be at most %d characters, not %d", MaxPatternLength, len(pat))
	}
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		if classOf(c) != classOther || c == '*' || c == '?' {
			continue
		}
		if c >= 0x80 {
			return fmt.Sprintf("non-ASCII character at offset %d: only a-z, 0-9, '-', '*' and '?' are allowed", i)
		}
		if c >= 'A' && c <= 'Z' {
			return fmt.Sprintf("character %q at offset %d: patterns are lower-case", c, i)
		}
		return fmt.Sprintf("character %q at offset %d: only a-z, 0-9, '-', '*' and '?' are allowed", c, i)
	}
	switch {
	case pat[0] == '-':
		return "must not start with '-'"
	case pat[len(pat)-1] == '-':
		return "must not end with '-'"
	}
	return ""
}

// Match reports whether name is matched by any pattern. Names are compared byte by byte; a
// Kubernetes namespace name is ASCII, so a byte is a character. The cost is linear in len(name)
// for each pattern, whatever the pattern (no backtracking).
func (p *Patterns) Match(name string) bool {
	if p == nil {
		return false
	}
	if p.any {
		return true
	}
	for _, e := range p.exact {
		if e == name {
			return true
		}
	}
	for i := range p.globs {
		if p.globs[i].match(name) {
			return true
		}
	}
	return false
}

// Character classes of the matcher's alphabet: the 37 characters a pattern literal may hold, plus
// one class for every other byte, which only '?' and '*' match.
const (
	classDash  = 36
	classOther = 37
	numClasses = 38
)

func classOf(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= '0' && c <= '9':
		return 26 + int(c-'0')
	case c == '-':
		return classDash
	default:
		return classOther
	}
}

// glob is a Shift-And automaton for one pattern with wildcards. After runs of '*' are collapsed a
// pattern has m ≤ 63 tokens, so its m+1 states fit in a uint64: bit i is "the first i tokens have
// been matched". Each input byte costs a handful of word operations, so matching is O(len(name))
// with no backtracking and no recursion, whatever the pattern (e.g. "*?*?*?*a").
type glob struct {
	next   [numClasses]uint64 // bit i+1 set when token i is a literal equal to the class, or '?'
	star   uint64             // bit i set when token i is '*' (self-loop on any byte, ε to i+1)
	accept uint64             // bit m
	minLen int                // number of non-'*' tokens: names shorter than this cannot match
	fixed  bool               // no '*': the name must be exactly minLen long
}

func compileGlob(pat string) glob {
	var g glob
	m := 0
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		if c == '*' && i > 0 && pat[i-1] == '*' {
			continue // "**" ≡ "*"
		}
		bit := uint64(1) << (m + 1)
		switch c {
		case '*':
			g.star |= uint64(1) << m
		case '?':
			for k := range g.next {
				g.next[k] |= bit
			}
			g.minLen++
		default:
			g.next[classOf(c)] |= bit
			g.minLen++
		}
		m++
	}
	g.accept = uint64(1) << m
	g.fixed = g.star == 0
	return g
}

func (g *glob) match(name string) bool {
	if len(name) < g.minLen || (g.fixed && len(name) != g.minLen) {
		return false
	}
	d := uint64(1)
	d |= (d & g.star) << 1 // ε-closure; one step suffices because "**" was collapsed
	for i := 0; i < len(name); i++ {
		d = (d<<1)&g.next[classOf(name[i])] | d&g.star
		d |= (d & g.star) << 1
		if d == 0 {
			return false
		}
	}
	return d&g.accept != 0
}
