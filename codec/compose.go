package codec

import (
	"bytes"
	"errors"
	"fmt"
)

// Tuple2 is a pair of values, the usual record type of keyed stream jobs
// (for example a word and its count).
type Tuple2[A, B any] struct {
	F0 A
	F1 B
}

// Tuple3 is a triple of values.
type Tuple3[A, B, C any] struct {
	F0 A
	F1 B
	F2 C
}

// T2 returns Tuple2{a, b}, with the type arguments inferred.
func T2[A, B any](a A, b B) Tuple2[A, B] { return Tuple2[A, B]{a, b} }

// T3 returns Tuple3{a, b, c}, with the type arguments inferred.
func T3[A, B, C any](a A, b B, c C) Tuple3[A, B, C] { return Tuple3[A, B, C]{a, b, c} }

// nest returns the nested form of c. Codecs from this package have their own
// nested form; any other codec is nested by prefixing its encoding with its
// length as a uvarint.
func nest[T any](c Codec[T]) nested[T] {
	if c == nil {
		panic(fmt.Sprintf("codec: nil Codec[%s]", typeName[T]()))
	}
	if n, ok := c.(nested[T]); ok {
		return n
	}
	return prefixed[T]{c}
}

func typeName[T any]() string {
	var p *T
	return fmt.Sprintf("%T", p)[1:]
}

// prefixed nests a codec from outside the package: uvarint length, then the
// codec's top-level encoding.
type prefixed[T any] struct{ c Codec[T] }

func (p prefixed[T]) Append(dst []byte, v T) []byte { return p.c.Append(dst, v) }
func (p prefixed[T]) Decode(src []byte) (T, error)  { return p.c.Decode(src) }
func (p prefixed[T]) minSize() int                  { return 1 }

func (p prefixed[T]) appendNested(dst []byte, v T) []byte {
	start := len(dst)
	return insertLength(p.c.Append(dst, v), start)
}

func (p prefixed[T]) decodeNested(src []byte) (T, int, error) {
	h, l, err := prefix(src)
	if err != nil {
		var zero T
		return zero, 0, err
	}
	v, err := p.c.Decode(src[h : h+l])
	if err != nil {
		var zero T
		return zero, 0, asCorrupt(err)
	}
	return v, h + l, nil
}

// asCorrupt makes sure an error from a foreign codec or an UnmarshalBinary
// method wraps ErrCorrupt, as Decode's contract requires.
func asCorrupt(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// Tuple2Codec returns a codec for Tuple2[A, B] that writes the nested
// encoding of F0 and then that of F1. It encodes exactly like
// For[Tuple2[A, B]] when ca and cb are the default codecs of A and B.
func Tuple2Codec[A, B any](ca Codec[A], cb Codec[B]) Codec[Tuple2[A, B]] {
	return tuple2Codec[A, B]{nest(ca), nest(cb)}
}

type tuple2Codec[A, B any] struct {
	a nested[A]
	b nested[B]
}

func (c tuple2Codec[A, B]) Append(dst []byte, v Tuple2[A, B]) []byte {
	return c.b.appendNested(c.a.appendNested(dst, v.F0), v.F1)
}

func (c tuple2Codec[A, B]) appendNested(dst []byte, v Tuple2[A, B]) []byte {
	return c.Append(dst, v)
}

func (c tuple2Codec[A, B]) minSize() int { return c.a.minSize() + c.b.minSize() }

func (c tuple2Codec[A, B]) decodeNested(src []byte) (v Tuple2[A, B], n int, err error) {
	var m int
	if v.F0, n, err = c.a.decodeNested(src); err != nil {
		return Tuple2[A, B]{}, 0, err
	}
	if v.F1, m, err = c.b.decodeNested(src[n:]); err != nil {
		return Tuple2[A, B]{}, 0, err
	}
	return v, n + m, nil
}

func (c tuple2Codec[A, B]) Decode(src []byte) (Tuple2[A, B], error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}

// Tuple3Codec returns a codec for Tuple3[A, B, C] that writes the nested
// encodings of F0, F1 and F2 in turn. It encodes exactly like
// For[Tuple3[A, B, C]] when its arguments are the default codecs.
func Tuple3Codec[A, B, C any](ca Codec[A], cb Codec[B], cc Codec[C]) Codec[Tuple3[A, B, C]] {
	return tuple3Codec[A, B, C]{nest(ca), nest(cb), nest(cc)}
}

type tuple3Codec[A, B, C any] struct {
	a nested[A]
	b nested[B]
	c nested[C]
}

func (c tuple3Codec[A, B, C]) Append(dst []byte, v Tuple3[A, B, C]) []byte {
	return c.c.appendNested(c.b.appendNested(c.a.appendNested(dst, v.F0), v.F1), v.F2)
}

func (c tuple3Codec[A, B, C]) appendNested(dst []byte, v Tuple3[A, B, C]) []byte {
	return c.Append(dst, v)
}

func (c tuple3Codec[A, B, C]) minSize() int {
	return c.a.minSize() + c.b.minSize() + c.c.minSize()
}

func (c tuple3Codec[A, B, C]) decodeNested(src []byte) (v Tuple3[A, B, C], n int, err error) {
	var m int
	if v.F0, n, err = c.a.decodeNested(src); err != nil {
		return Tuple3[A, B, C]{}, 0, err
	}
	if v.F1, m, err = c.b.decodeNested(src[n:]); err != nil {
		return Tuple3[A, B, C]{}, 0, err
	}
	n += m
	if v.F2, m, err = c.c.decodeNested(src[n:]); err != nil {
		return Tuple3[A, B, C]{}, 0, err
	}
	return v, n + m, nil
}

func (c tuple3Codec[A, B, C]) Decode(src []byte) (Tuple3[A, B, C], error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}

// Slice returns a codec for []E: a uvarint that is 0 for a nil slice and
// len+1 otherwise, followed by the nested encoding of each element. It
// encodes exactly like For[[]E] when c is the default codec of E, except
// that For[[]byte] is Bytes.
func Slice[E any](c Codec[E]) Codec[[]E] { return sliceCodec[E]{nest(c)} }

type sliceCodec[E any] struct{ e nested[E] }

func (c sliceCodec[E]) Append(dst []byte, v []E) []byte {
	if v == nil {
		return append(dst, 0)
	}
	dst = appendUvarint(dst, uint64(len(v))+1)
	for i := range v {
		dst = c.e.appendNested(dst, v[i])
	}
	return dst
}

func (c sliceCodec[E]) appendNested(dst []byte, v []E) []byte { return c.Append(dst, v) }
func (c sliceCodec[E]) minSize() int                          { return 1 }

func (c sliceCodec[E]) decodeNested(src []byte) ([]E, int, error) {
	min := c.e.minSize()
	n, isNil, pos, err := count(src, min)
	if err != nil || isNil {
		return nil, pos, err
	}
	v := make([]E, n)
	if min == 0 {
		// Zero-size elements: nothing to read, nothing to store.
		return v, pos, nil
	}
	for i := range v {
		var m int
		if v[i], m, err = c.e.decodeNested(src[pos:]); err != nil {
			return nil, 0, err
		}
		pos += m
	}
	return v, pos, nil
}

func (c sliceCodec[E]) Decode(src []byte) ([]E, error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}

// Map returns a codec for map[K]V: a uvarint that is 0 for a nil map and
// len+1 otherwise, followed by the entries, each the nested encoding of the
// key followed by that of the value, in increasing byte order of the key's
// encoding (so the encoding does not depend on iteration order). Decode
// rejects entries out of that order and duplicate keys. It encodes exactly
// like For[map[K]V] when ck and cv are the default codecs of K and V.
//
// Append uses pooled scratch memory to sort the entries, so it does not
// allocate in the steady state.
func Map[K comparable, V any](ck Codec[K], cv Codec[V]) Codec[map[K]V] {
	return mapCodec[K, V]{nest(ck), nest(cv)}
}

type mapCodec[K comparable, V any] struct {
	k nested[K]
	v nested[V]
}

func (c mapCodec[K, V]) Append(dst []byte, m map[K]V) []byte {
	if m == nil {
		return append(dst, 0)
	}
	dst = appendUvarint(dst, uint64(len(m))+1)
	if len(m) == 0 {
		return dst
	}
	s := entryPool.Get().(*entryScratch)
	start := len(dst)
	for k, v := range m {
		lo := len(dst)
		dst = c.v.appendNested(c.k.appendNested(dst, k), v)
		s.spans = append(s.spans, span{lo, len(dst)})
	}
	s.sortEntries(dst, start)
	s.release(&entryPool)
	return dst
}

func (c mapCodec[K, V]) appendNested(dst []byte, m map[K]V) []byte { return c.Append(dst, m) }
func (c mapCodec[K, V]) minSize() int                              { return 1 }

func (c mapCodec[K, V]) decodeNested(src []byte) (map[K]V, int, error) {
	min := c.k.minSize() + c.v.minSize()
	n, isNil, pos, err := count(src, min)
	if err != nil || isNil {
		return nil, pos, err
	}
	if min == 0 && n > 1 {
		// Zero-size keys: a map holds at most one entry.
		return nil, 0, errMapDup
	}
	m := make(map[K]V, n)
	prev := src[:0]
	for range n {
		lo := pos
		k, kn, err := c.k.decodeNested(src[pos:])
		if err != nil {
			return nil, 0, err
		}
		pos += kn
		v, vn, err := c.v.decodeNested(src[pos:])
		if err != nil {
			return nil, 0, err
		}
		pos += vn
		entry := src[lo:pos]
		if bytes.Compare(prev, entry) > 0 {
			return nil, 0, errMapOrder
		}
		prev = entry
		m[k] = v
	}
	if len(m) != n {
		return nil, 0, errMapDup
	}
	return m, pos, nil
}

func (c mapCodec[K, V]) Decode(src []byte) (map[K]V, error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}

// Pointer returns a codec for *T: a byte that is 0 for nil and 1 otherwise,
// followed in the latter case by the nested encoding of the pointee. Decode
// allocates a new T. It encodes exactly like For[*T] when c is the default
// codec of T.
func Pointer[T any](c Codec[T]) Codec[*T] { return pointerCodec[T]{nest(c)} }

type pointerCodec[T any] struct{ e nested[T] }

func (c pointerCodec[T]) Append(dst []byte, p *T) []byte {
	if p == nil {
		return append(dst, 0)
	}
	return c.e.appendNested(append(dst, 1), *p)
}

func (c pointerCodec[T]) appendNested(dst []byte, p *T) []byte { return c.Append(dst, p) }
func (c pointerCodec[T]) minSize() int                         { return 1 }

func (c pointerCodec[T]) decodeNested(src []byte) (*T, int, error) {
	if len(src) == 0 {
		return nil, 0, errTruncated
	}
	switch src[0] {
	case 0:
		return nil, 1, nil
	case 1:
	default:
		return nil, 0, errPtrTag
	}
	if len(src)-1 < c.e.minSize() {
		return nil, 0, errTruncated
	}
	v, n, err := c.e.decodeNested(src[1:])
	if err != nil {
		return nil, 0, err
	}
	p := new(T)
	*p = v
	return p, n + 1, nil
}

func (c pointerCodec[T]) Decode(src []byte) (*T, error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}
