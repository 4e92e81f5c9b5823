package mcp

import (
	"bytes"
	"encoding/json"
)

// A page holds at most limit items, and also stops before its answer
// passes AnswerBudget characters: the item counts are set so that the
// worst cases measured stay within it (make answer-sizes), and fitPage
// makes it a guarantee for the lists of unbounded items (a correlate
// result's intel, a suspect's port lists), whatever the data holds.

// encodedLen is the length of a's JSON as the server writes it.
func encodedLen(a any) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(a) != nil {
		return 0
	}
	return b.Len() - 1
}

// fitPage builds the page of n = limit items and, while its answer is
// over AnswerBudget and holds more than one item, builds it again with
// proportionally fewer. It returns the answer and the items it holds.
// Each try at least halves the overshoot, so it ends in a few tries.
func fitPage[A any](limit int, build func(n int) A) (A, int) {
	n := limit
	for {
		a := build(n)
		size := encodedLen(a)
		if size <= AnswerBudget || n <= 1 {
			return a, n
		}
		m := int(float64(n) * float64(AnswerBudget) / float64(size) * 0.95)
		n = max(1, min(m, n-1))
	}
}
