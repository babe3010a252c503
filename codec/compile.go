package codec

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// For returns the default codec for T. It does the reflection work on every
// call, so call it once per type and keep the result; the codec it returns
// does no per-record reflection on its fast paths.
//
// The codec is chosen as follows (see the package documentation for the
// formats):
//   - bool, int, int8, …, uint64, float32, float64, string, []byte,
//     time.Time and time.Duration get the codec of the same name (Bool, Int,
//     …, Bytes, Time, Duration);
//   - any other type T such that *T implements [encoding.BinaryUnmarshaler]
//     and T or *T implements [encoding.BinaryAppender] (preferred) or
//     [encoding.BinaryMarshaler] is encoded by those methods;
//   - named types whose underlying type is one of the basic types above
//     encode like it (type Word string encodes like string);
//   - structs, arrays, slices, maps and pointers of supported types get a
//     codec compiled once from reflect.
//
// Struct fields are encoded in declaration order. Blank (_) fields and
// fields tagged `codec:"-"` are skipped and decode as zero. An embedded
// struct is encoded in place, even if its type is unexported (its exported
// fields are promoted); other unexported fields are an error, unless the
// struct's own marshaling methods take over.
//
// For returns an error naming the type and the field path of what it
// cannot encode: interfaces, channels, functions, unsafe pointers and
// uintptrs; unexported fields; types with only one half of the marshaling
// methods; named types defined on time.Time (which has unexported fields);
// and recursive types.
func For[T any]() (Codec[T], error) {
	var zero T
	var c any
	switch any(zero).(type) {
	case bool:
		c = Bool()
	case int:
		c = Int()
	case int8:
		c = Int8()
	case int16:
		c = Int16()
	case int32:
		c = Int32()
	case int64:
		c = Int64()
	case uint:
		c = Uint()
	case uint8:
		c = Uint8()
	case uint16:
		c = Uint16()
	case uint32:
		c = Uint32()
	case uint64:
		c = Uint64()
	case float32:
		c = Float32()
	case float64:
		c = Float64()
	case string:
		c = String()
	case []byte:
		c = Bytes()
	case time.Time:
		c = Time()
	case time.Duration:
		c = Duration()
	}
	if c != nil {
		return c.(Codec[T]), nil
	}
	return compileFor[T]()
}

// MustFor is like For but panics if T has no default codec. It suits
// package-level variables.
func MustFor[T any]() Codec[T] {
	c, err := For[T]()
	if err != nil {
		panic(err)
	}
	return c
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	appenderType    = reflect.TypeFor[encoding.BinaryAppender]()
	marshalerType   = reflect.TypeFor[encoding.BinaryMarshaler]()
	unmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// opKind says how an op encodes the memory at its offset.
type opKind uint8

const (
	opBool opKind = iota
	opByte        // int8 or uint8: the byte itself
	opInt16
	opInt32
	opInt64
	opInt
	opUint16
	opUint32
	opUint64
	opUint
	opFloat32
	opFloat64
	opComplex64
	opComplex128
	opString
	opBytes     // slice of 1-byte integers
	opByteArray // array of 1-byte integers
	opArray
	opSlice
	opPtr
	opMap
	opTime
	opMarshal
)

// op encodes or decodes one field at offset off from the start of the value
// a program runs on. Structs are flattened into their fields' ops.
type op struct {
	kind opKind
	// inlineEnc and inlineDec say whether encInline and decInline can run
	// this op; see interp.go.
	inlineEnc bool
	inlineDec bool
	off       uintptr
	min       int          // lower bound on the encoded size
	n         int          // array length
	typ       reflect.Type // slice type (opSlice), marshaler type (opMarshal)
	elem      *prog        // element of opArray, opSlice, opPtr
	m         *mapInfo     // opMap
	appender  bool         // opMarshal: use AppendBinary, not MarshalBinary
}

// prog is a compiled codec for one type: a list of ops run on a pointer to
// a value of that type.
type prog struct {
	typ       reflect.Type
	ops       []op
	size      uintptr
	min       int
	inlineEnc bool // every op is inlineEnc
	inlineDec bool // every op is inlineDec
}

type mapInfo struct {
	typ      reflect.Type
	key, val *prog
	pool     sync.Pool // of *mapScratch
}

func newProg(t reflect.Type, ops []op) *prog {
	p := &prog{typ: t, ops: ops, size: t.Size(), inlineEnc: true, inlineDec: true}
	for i := range ops {
		o := &ops[i]
		o.inlineEnc = o.kind != opMarshal && (o.kind != opArray || o.elem.inlineEnc)
		o.inlineDec = o.kind != opMarshal &&
			(o.kind != opArray || o.elem.inlineDec) &&
			(o.kind != opSlice || !hasPointers(o.elem.typ))
		p.inlineEnc = p.inlineEnc && o.inlineEnc
		p.inlineDec = p.inlineDec && o.inlineDec
		p.min += o.min
	}
	return p
}

// hasPointers reports whether values of t contain pointers the garbage
// collector must see.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.String, reflect.Chan,
		reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return true
	}
	return false
}

// rootMode says how a reflectCodec writes its top-level form.
type rootMode uint8

const (
	rootProg    rootMode = iota // run the program
	rootString                  // string kind: raw bytes
	rootBytes                   // slice of 1-byte integers: raw bytes
	rootMarshal                 // marshaler: the method's bytes
)

func compileFor[T any]() (Codec[T], error) {
	t := reflect.TypeFor[T]()
	c := compiler{root: t, active: map[reflect.Type]bool{}}
	ops, err := c.ops(nil, t, 0, "")
	if err != nil {
		return nil, err
	}
	rc := &reflectCodec[T]{p: newProg(t, ops)}
	// Top-level strings, byte slices and marshalers rely on the caller's
	// framing for their length. Everything else, including a struct with a
	// single string field, uses its nested form at top level too.
	if len(ops) == 1 && ops[0].off == 0 {
		switch {
		case ops[0].kind == opMarshal && ops[0].typ == t:
			rc.mode = rootMarshal
		case ops[0].kind == opString && t.Kind() == reflect.String:
			rc.mode = rootString
		case ops[0].kind == opBytes && t.Kind() == reflect.Slice:
			rc.mode = rootBytes
		}
	}
	return rc, nil
}

type compiler struct {
	root   reflect.Type
	active map[reflect.Type]bool // types being compiled, to catch recursion
}

func (c *compiler) errorf(path string, t reflect.Type, format string, args ...any) error {
	var b strings.Builder
	fmt.Fprintf(&b, "codec: no default codec for %v", c.root)
	if path != "" {
		what := "element"
		if path[0] == '.' {
			what = "field"
		}
		fmt.Fprintf(&b, " %s %s (%v)", what, path, t)
	}
	if format != "" {
		b.WriteString(": ")
		fmt.Fprintf(&b, format, args...)
	}
	return fmt.Errorf("%s", b.String())
}

// marshaler reports whether t is encoded by its binary marshaling methods,
// and whether through AppendBinary.
func (c *compiler) marshaler(t reflect.Type, path string) (ok, appender bool, err error) {
	pt := reflect.PointerTo(t)
	app := pt.Implements(appenderType)
	mar := pt.Implements(marshalerType)
	unm := pt.Implements(unmarshalerType)
	switch {
	case !app && !mar && !unm:
		return false, false, nil
	case !unm:
		return false, false, c.errorf(path, t, "it implements encoding.BinaryAppender or encoding.BinaryMarshaler but %v does not implement encoding.BinaryUnmarshaler", pt)
	case !app && !mar:
		return false, false, c.errorf(path, t, "%v implements encoding.BinaryUnmarshaler but it implements neither encoding.BinaryAppender nor encoding.BinaryMarshaler", pt)
	}
	return true, app, nil
}

func isByteKind(t reflect.Type) bool {
	return t.Kind() == reflect.Uint8 || t.Kind() == reflect.Int8
}

// ops appends to ops the ops that encode a value of type t at offset off.
func (c *compiler) ops(ops []op, t reflect.Type, off uintptr, path string) ([]op, error) {
	if c.active[t] {
		return nil, c.errorf(path, t, "recursive type %v", t)
	}
	if t == timeType {
		return append(ops, op{kind: opTime, off: off, min: 2}), nil
	}
	ok, app, err := c.marshaler(t, path)
	if err != nil {
		return nil, err
	}
	if ok {
		return append(ops, op{kind: opMarshal, off: off, min: 1, typ: t, appender: app}), nil
	}
	scalar := func(k opKind, min int) ([]op, error) {
		return append(ops, op{kind: k, off: off, min: min}), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return scalar(opBool, 1)
	case reflect.Int8, reflect.Uint8:
		return scalar(opByte, 1)
	case reflect.Int16:
		return scalar(opInt16, 1)
	case reflect.Int32:
		return scalar(opInt32, 1)
	case reflect.Int64:
		return scalar(opInt64, 1)
	case reflect.Int:
		return scalar(opInt, 1)
	case reflect.Uint16:
		return scalar(opUint16, 1)
	case reflect.Uint32:
		return scalar(opUint32, 1)
	case reflect.Uint64:
		return scalar(opUint64, 1)
	case reflect.Uint:
		return scalar(opUint, 1)
	case reflect.Float32:
		return scalar(opFloat32, 4)
	case reflect.Float64:
		return scalar(opFloat64, 8)
	case reflect.Complex64:
		return scalar(opComplex64, 8)
	case reflect.Complex128:
		return scalar(opComplex128, 16)
	case reflect.String:
		return scalar(opString, 1)
	}

	c.active[t] = true
	defer delete(c.active, t)
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || f.Tag.Get("codec") == "-" {
				continue
			}
			fpath := path + "." + f.Name
			if !f.IsExported() && !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
				return nil, c.errorf(fpath, f.Type, "unexported field; export it, tag it `codec:\"-\"` or give %v binary marshaling methods", t)
			}
			if ops, err = c.ops(ops, f.Type, off+f.Offset, fpath); err != nil {
				return nil, err
			}
		}
		return ops, nil
	case reflect.Array:
		if t.Size() == 0 {
			return ops, nil
		}
		if isByteKind(t.Elem()) {
			if ok, _, _ := c.marshaler(t.Elem(), ""); !ok {
				return append(ops, op{kind: opByteArray, off: off, n: t.Len(), min: t.Len()}), nil
			}
		}
		e, err := c.prog(t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		return append(ops, op{kind: opArray, off: off, n: t.Len(), elem: e, min: t.Len() * e.min}), nil
	case reflect.Slice:
		if isByteKind(t.Elem()) {
			if ok, _, _ := c.marshaler(t.Elem(), ""); !ok {
				return append(ops, op{kind: opBytes, off: off, min: 1}), nil
			}
		}
		e, err := c.prog(t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		return append(ops, op{kind: opSlice, off: off, typ: t, elem: e, min: 1}), nil
	case reflect.Pointer:
		e, err := c.prog(t.Elem(), path)
		if err != nil {
			return nil, err
		}
		return append(ops, op{kind: opPtr, off: off, elem: e, min: 1}), nil
	case reflect.Map:
		k, err := c.prog(t.Key(), path+"[key]")
		if err != nil {
			return nil, err
		}
		v, err := c.prog(t.Elem(), path+"[value]")
		if err != nil {
			return nil, err
		}
		m := &mapInfo{typ: t, key: k, val: v}
		m.pool.New = func() any { return newMapScratch(m) }
		return append(ops, op{kind: opMap, off: off, m: m, min: 1}), nil
	}
	return nil, c.errorf(path, t, "")
}

func (c *compiler) prog(t reflect.Type, path string) (*prog, error) {
	ops, err := c.ops(nil, t, 0, path)
	if err != nil {
		return nil, err
	}
	return newProg(t, ops), nil
}

// reflectCodec is the Codec For compiles from reflect.
type reflectCodec[T any] struct {
	mode rootMode
	p    *prog
	pool sync.Pool // of *T, for appendSlow and decodeSlow
}

func (c *reflectCodec[T]) minSize() int { return c.p.min }

func (c *reflectCodec[T]) Append(dst []byte, v T) []byte {
	switch c.mode {
	case rootString:
		return append(dst, *(*string)(unsafe.Pointer(&v))...)
	case rootBytes:
		return append(dst, *(*[]byte)(unsafe.Pointer(&v))...)
	case rootProg:
		if c.p.inlineEnc {
			return encInline(dst, unsafe.Pointer(&v), c.p.ops)
		}
	}
	return c.appendSlow(dst, v, false)
}

func (c *reflectCodec[T]) appendNested(dst []byte, v T) []byte {
	switch c.mode {
	case rootString:
		return appendStringNested(dst, *(*string)(unsafe.Pointer(&v)))
	case rootBytes:
		return appendBytesNested(dst, *(*[]byte)(unsafe.Pointer(&v)))
	case rootProg:
		if c.p.inlineEnc {
			return encInline(dst, unsafe.Pointer(&v), c.p.ops)
		}
	}
	return c.appendSlow(dst, v, true)
}

// appendSlow encodes values whose encoding needs a pointer to them that may
// escape (into a marshaling method call). It copies v into pooled heap
// memory, so that neither v nor a fresh copy of it needs allocating.
func (c *reflectCodec[T]) appendSlow(dst []byte, v T, nested bool) []byte {
	p := c.getScratch()
	*p = v
	if c.mode == rootMarshal && !nested {
		dst = appendMarshal(dst, unsafe.Pointer(p), &c.p.ops[0], false)
	} else {
		dst = encValue(dst, unsafe.Pointer(p), c.p)
	}
	c.putScratch(p)
	return dst
}

// getScratch returns a pointer to a zero T from the codec's pool.
func (c *reflectCodec[T]) getScratch() *T {
	if p, ok := c.pool.Get().(*T); ok {
		return p
	}
	return new(T)
}

// putScratch zeroes *p, so that the pool keeps nothing of the caller's, and
// returns p to the pool.
func (c *reflectCodec[T]) putScratch(p *T) {
	var zero T
	*p = zero
	c.pool.Put(p)
}

func (c *reflectCodec[T]) Decode(src []byte) (T, error) {
	var v T
	switch c.mode {
	case rootString:
		*(*string)(unsafe.Pointer(&v)) = string(src)
		return v, nil
	case rootBytes:
		if len(src) > 0 {
			b := make([]byte, len(src))
			copy(b, src)
			*(*[]byte)(unsafe.Pointer(&v)) = b
		}
		return v, nil
	case rootProg:
		if c.p.inlineDec {
			n, err := decInline(src, unsafe.Pointer(&v), c.p.ops)
			return finish(v, n, err, len(src))
		}
	}
	v, n, err := c.decodeSlow(src, false)
	return finish(v, n, err, len(src))
}

func (c *reflectCodec[T]) decodeNested(src []byte) (T, int, error) {
	switch c.mode {
	case rootString:
		s, n, err := decodeStringNested(src)
		return *(*T)(unsafe.Pointer(&s)), n, err
	case rootBytes:
		b, n, err := decodeBytesNested(src)
		return *(*T)(unsafe.Pointer(&b)), n, err
	case rootProg:
		if c.p.inlineDec {
			var v T
			n, err := decInline(src, unsafe.Pointer(&v), c.p.ops)
			if err != nil {
				var zero T
				return zero, 0, err
			}
			return v, n, nil
		}
	}
	return c.decodeSlow(src, true)
}

// decodeSlow decodes into heap memory, for programs that need a pointer to
// the value that may escape.
func (c *reflectCodec[T]) decodeSlow(src []byte, nested bool) (T, int, error) {
	p := c.getScratch()
	var n int
	var err error
	if c.mode == rootMarshal && !nested {
		n, err = len(src), unmarshal(src, unsafe.Pointer(p), c.p.ops[0].typ)
	} else {
		n, err = decValue(src, unsafe.Pointer(p), c.p)
	}
	v := *p
	c.putScratch(p)
	if err != nil {
		var zero T
		return zero, 0, err
	}
	return v, n, nil
}
