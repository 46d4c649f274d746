// Package match evaluates Panther "simple detections" natively: the match
// expressions of a rule's Detection key, of InlineFilters, of list
// comprehensions and of DynamicSeverities, plus the alert keys AlertTitle,
// AlertContext, GroupBy and DynamicSeverities.
//
// Expressions are compiled once from decoded YAML (map[string]any, []any and
// scalars) into closures; evaluating an event does no reflection and, for
// the common conditions, no allocation. Events are decoded JSON:
// map[string]any, []any, string, float64 or json.Number, bool and nil.
//
// # Key specifiers
//
//   - Key: name — a top-level key.
//   - DeepKey: [a, b, c] — nested mapping keys; lists are not indexed (like
//     deep_get).
//   - KeyPath: a.b[*].c — dotted keys, [N] list indexes (negative from the
//     end), [*] every element, ['k.with.dots'] quoted keys; a leading "$." is
//     accepted.
//   - Enrichment: {Table, Selector, FieldPath} — the value at
//     p_enrichment.<Table>.<Selector>, then FieldPath inside the row.
//
// Keys are looked up like Panther's event object: the exact key first, then
// case-insensitively.
//
// # Evaluation over values
//
// A key specifier resolves to zero values (absent), one value, or, with
// [*] wildcards or enrichment rows that are lists, several. Every condition
// is either positive or the negation of a positive one (DoesNotEqual is NOT
// Equals, IsNotIn is NOT IsIn, DoesNotExist is NOT Exists, IsNull is NOT
// IsNotNull, IsNullOrEmpty is NOT IsNotNullOrEmpty, NoElement is NOT
// AnyElement, and so on). A positive condition is true when at least one
// resolved value passes it, so it is false when the key is absent; a
// negated condition is therefore true when no value passes the positive
// test, including when the key is absent. For example, with moons[*].name
// resolving to ["Charon", "Nix"], Equals Nix is true and DoesNotEqual Nix is
// false.
//
// A present key holding null is not absent: Exists is true, IsNull is true,
// Equals "x" is false, DoesNotEqual "x" is true.
//
// InlineFilters (CompileInlineFilters) differ only for absent keys: the
// expression passes, except for existence conditions.
//
// # Types
//
// Equals, DoesNotEqual, IsIn and IsNotIn compare strictly by type: strings
// with strings, numbers with numbers (any numeric type or json.Number),
// booleans with booleans, null with null. String conditions need string
// values. Numeric comparisons read numbers and strings holding decimal
// numbers. IP conditions read strings; IPv4-mapped IPv6 addresses are
// treated as IPv4 for CIDR, public and private tests. Contains on a list
// tests membership of a string element, on a mapping the presence of a key.
package match
