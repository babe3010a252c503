package codec

import (
	"bytes"
	"encoding"
	"fmt"
	"reflect"
	"time"
	"unsafe"
)

// The compiled codecs run a prog's ops over a pointer to the value, through
// two pairs of interpreters:
//
//   - encInline and decInline never let the pointer they are given escape,
//     so a reflectCodec can run them on a pointer to its argument (or result)
//     on the stack without the compiler moving that variable to the heap.
//     They follow slices, pointers and maps (whose targets are on the heap)
//     through encValue and decValue.
//   - encValue and decValue handle every op; the pointer they are given may
//     escape (into a marshaling method call or a reflect.Value), so they are
//     only run on heap memory.
//
// Each op and prog records whether the inline interpreters can run it.

// sliceHeader is the memory layout of a slice.
type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

// emptyArray backs decoded empty, non-nil slices.
var emptyArray [0]uint64

func encInline(dst []byte, p unsafe.Pointer, ops []op) []byte {
	for i := range ops {
		o := &ops[i]
		q := unsafe.Add(p, o.off)
		switch o.kind {
		case opBool:
			dst = appendBool(dst, *(*bool)(q))
		case opByte:
			dst = append(dst, *(*byte)(q))
		case opInt16:
			dst = appendVarint(dst, int64(*(*int16)(q)))
		case opInt32:
			dst = appendVarint(dst, int64(*(*int32)(q)))
		case opInt64:
			dst = appendVarint(dst, *(*int64)(q))
		case opInt:
			dst = appendVarint(dst, int64(*(*int)(q)))
		case opUint16:
			dst = appendUvarint(dst, uint64(*(*uint16)(q)))
		case opUint32:
			dst = appendUvarint(dst, uint64(*(*uint32)(q)))
		case opUint64:
			dst = appendUvarint(dst, *(*uint64)(q))
		case opUint:
			dst = appendUvarint(dst, uint64(*(*uint)(q)))
		case opFloat32:
			dst = appendFloat32(dst, *(*float32)(q))
		case opFloat64:
			dst = appendFloat64(dst, *(*float64)(q))
		case opComplex64:
			c := *(*complex64)(q)
			dst = appendFloat32(appendFloat32(dst, real(c)), imag(c))
		case opComplex128:
			c := *(*complex128)(q)
			dst = appendFloat64(appendFloat64(dst, real(c)), imag(c))
		case opString:
			dst = appendStringNested(dst, *(*string)(q))
		case opBytes:
			dst = appendBytesNested(dst, *(*[]byte)(q))
		case opByteArray:
			dst = append(dst, unsafe.Slice((*byte)(q), o.n)...)
		case opArray:
			e := o.elem
			for j := range o.n {
				dst = encInline(dst, unsafe.Add(q, uintptr(j)*e.size), e.ops)
			}
		case opSlice:
			h := (*sliceHeader)(q)
			dst = encSlice(dst, h.data, h.len, o.elem)
		case opPtr:
			if e := *(*unsafe.Pointer)(q); e == nil {
				dst = append(dst, 0)
			} else {
				dst = encValue(append(dst, 1), e, o.elem)
			}
		case opMap:
			dst = encMap(dst, *(*unsafe.Pointer)(q), o.m)
		case opTime:
			dst = appendTime(dst, *(*time.Time)(q))
		default:
			panic("codec: internal error: encInline on a marshal op")
		}
	}
	return dst
}

func encValue(dst []byte, p unsafe.Pointer, e *prog) []byte {
	if e.inlineEnc {
		return encInline(dst, p, e.ops)
	}
	for i := range e.ops {
		o := &e.ops[i]
		if o.inlineEnc {
			dst = encInline(dst, p, e.ops[i:i+1])
			continue
		}
		q := unsafe.Add(p, o.off)
		switch o.kind {
		case opArray:
			for j := range o.n {
				dst = encValue(dst, unsafe.Add(q, uintptr(j)*o.elem.size), o.elem)
			}
		case opMarshal:
			dst = appendMarshal(dst, q, o, true)
		}
	}
	return dst
}

// encSlice encodes the slice with the given data pointer and length.
func encSlice(dst []byte, data unsafe.Pointer, n int, e *prog) []byte {
	if data == nil {
		return append(dst, 0)
	}
	dst = appendUvarint(dst, uint64(n)+1)
	if len(e.ops) == 0 {
		return dst
	}
	if e.inlineEnc {
		for j := range n {
			dst = encInline(dst, unsafe.Add(data, uintptr(j)*e.size), e.ops)
		}
		return dst
	}
	for j := range n {
		dst = encValue(dst, unsafe.Add(data, uintptr(j)*e.size), e)
	}
	return dst
}

// appendMarshal encodes the value at p with its marshaling method, prefixed
// by its length if nested. The Codec contract has no way to report an
// encoding error, so an error from the method is a panic.
func appendMarshal(dst []byte, p unsafe.Pointer, o *op, nested bool) []byte {
	x := reflect.NewAt(o.typ, p).Interface()
	start := len(dst)
	var err error
	if o.appender {
		dst, err = x.(encoding.BinaryAppender).AppendBinary(dst)
	} else {
		var b []byte
		if b, err = x.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
			if nested {
				dst = appendUvarint(dst, uint64(len(b)))
				nested = false
			}
			dst = append(dst, b...)
		}
	}
	if err != nil {
		panic(fmt.Errorf("codec: encoding %v: %w", o.typ, err))
	}
	if nested {
		dst = insertLength(dst, start)
	}
	return dst
}

// mapScratch is the memory a map codec needs per call, pooled per map type.
type mapScratch struct {
	m      reflect.Value // settable variable of the map type
	mp     unsafe.Pointer
	k, v   reflect.Value // settable variables of the key and value types
	kp, vp unsafe.Pointer
	it     reflect.MapIter
	entryScratch
}

func newMapScratch(mi *mapInfo) *mapScratch {
	s := new(mapScratch)
	m, k, v := reflect.New(mi.typ), reflect.New(mi.typ.Key()), reflect.New(mi.typ.Elem())
	s.m, s.mp = m.Elem(), m.UnsafePointer()
	s.k, s.kp = k.Elem(), k.UnsafePointer()
	s.v, s.vp = v.Elem(), v.UnsafePointer()
	return s
}

// release clears s, so that the pool keeps nothing of the caller's values,
// and returns it to the pool.
func (s *mapScratch) release(mi *mapInfo) {
	*(*unsafe.Pointer)(s.mp) = nil
	s.k.SetZero()
	s.v.SetZero()
	if cap(s.buf) > maxPooledScratch || cap(s.spans) > maxPooledScratch/16 {
		return
	}
	s.spans = s.spans[:0]
	s.buf = s.buf[:0]
	mi.pool.Put(s)
}

// encMap encodes the map m (a map's pointer word): see Map for the format.
func encMap(dst []byte, m unsafe.Pointer, mi *mapInfo) []byte {
	if m == nil {
		return append(dst, 0)
	}
	s := mi.pool.Get().(*mapScratch)
	*(*unsafe.Pointer)(s.mp) = m
	dst = appendUvarint(dst, uint64(s.m.Len())+1)
	start := len(dst)
	s.it.Reset(s.m)
	for s.it.Next() {
		s.k.SetIterKey(&s.it)
		s.v.SetIterValue(&s.it)
		lo := len(dst)
		dst = encValue(dst, s.kp, mi.key)
		dst = encValue(dst, s.vp, mi.val)
		s.spans = append(s.spans, span{lo, len(dst)})
	}
	s.it.Reset(reflect.Value{})
	s.sortEntries(dst, start)
	s.release(mi)
	return dst
}

func decInline(src []byte, p unsafe.Pointer, ops []op) (int, error) {
	pos := 0
	for i := range ops {
		o := &ops[i]
		q := unsafe.Add(p, o.off)
		b := src[pos:]
		var n int
		var err error
		switch o.kind {
		case opBool:
			*(*bool)(q), n, err = decodeBool(b)
		case opByte:
			if len(b) == 0 {
				return 0, errTruncated
			}
			*(*byte)(q), n = b[0], 1
		case opInt16:
			var x int64
			if x, n, err = varint(b); err == nil && int64(int16(x)) != x {
				err = errRange
			}
			*(*int16)(q) = int16(x)
		case opInt32:
			var x int64
			if x, n, err = varint(b); err == nil && int64(int32(x)) != x {
				err = errRange
			}
			*(*int32)(q) = int32(x)
		case opInt64:
			*(*int64)(q), n, err = varint(b)
		case opInt:
			var x int64
			if x, n, err = varint(b); err == nil && int64(int(x)) != x {
				err = errRange
			}
			*(*int)(q) = int(x)
		case opUint16:
			var x uint64
			if x, n, err = uvarint(b); err == nil && uint64(uint16(x)) != x {
				err = errRange
			}
			*(*uint16)(q) = uint16(x)
		case opUint32:
			var x uint64
			if x, n, err = uvarint(b); err == nil && uint64(uint32(x)) != x {
				err = errRange
			}
			*(*uint32)(q) = uint32(x)
		case opUint64:
			*(*uint64)(q), n, err = uvarint(b)
		case opUint:
			var x uint64
			if x, n, err = uvarint(b); err == nil && uint64(uint(x)) != x {
				err = errRange
			}
			*(*uint)(q) = uint(x)
		case opFloat32:
			*(*float32)(q), n, err = decodeFloat32(b)
		case opFloat64:
			*(*float64)(q), n, err = decodeFloat64(b)
		case opComplex64:
			var re, im float32
			if re, n, err = decodeFloat32(b); err == nil {
				im, _, err = decodeFloat32(b[4:])
				n = 8
			}
			*(*complex64)(q) = complex(re, im)
		case opComplex128:
			var re, im float64
			if re, n, err = decodeFloat64(b); err == nil {
				im, _, err = decodeFloat64(b[8:])
				n = 16
			}
			*(*complex128)(q) = complex(re, im)
		case opString:
			*(*string)(q), n, err = decodeStringNested(b)
		case opBytes:
			*(*[]byte)(q), n, err = decodeBytesNested(b)
		case opByteArray:
			if len(b) < o.n {
				return 0, errTruncated
			}
			n = copy(unsafe.Slice((*byte)(q), o.n), b)
		case opArray:
			e := o.elem
			for j := range o.n {
				m, err := decInline(b[n:], unsafe.Add(q, uintptr(j)*e.size), e.ops)
				if err != nil {
					return 0, err
				}
				n += m
			}
		case opSlice: // of pointer-free elements; see newProg
			*(*sliceHeader)(q), n, err = decSliceNoscan(b, o.elem)
		case opPtr:
			*(*unsafe.Pointer)(q), n, err = decPtr(b, o.elem)
		case opMap:
			*(*unsafe.Pointer)(q), n, err = decMap(b, o.m)
		case opTime:
			*(*time.Time)(q), n, err = decodeTime(b)
		default:
			panic("codec: internal error: decInline on a non-inline op")
		}
		if err != nil {
			return 0, err
		}
		pos += n
	}
	return pos, nil
}

func decValue(src []byte, p unsafe.Pointer, e *prog) (int, error) {
	if e.inlineDec {
		return decInline(src, p, e.ops)
	}
	pos := 0
	for i := range e.ops {
		o := &e.ops[i]
		var n int
		var err error
		if o.inlineDec {
			n, err = decInline(src[pos:], p, e.ops[i:i+1])
		} else {
			q := unsafe.Add(p, o.off)
			b := src[pos:]
			switch o.kind {
			case opArray:
				for j := range o.n {
					var m int
					if m, err = decValue(b[n:], unsafe.Add(q, uintptr(j)*o.elem.size), o.elem); err != nil {
						break
					}
					n += m
				}
			case opSlice:
				n, err = decSlice(b, q, o)
			case opMarshal:
				var h, l int
				if h, l, err = prefix(b); err == nil {
					err = unmarshal(b[h:h+l:h+l], q, o.typ)
					n = h + l
				}
			}
		}
		if err != nil {
			return 0, err
		}
		pos += n
	}
	return pos, nil
}

// unmarshal decodes src into the value of type t at p with its
// UnmarshalBinary method.
func unmarshal(src []byte, p unsafe.Pointer, t reflect.Type) error {
	u := reflect.NewAt(t, p).Interface().(encoding.BinaryUnmarshaler)
	if err := u.UnmarshalBinary(src); err != nil {
		return fmt.Errorf("%w: %v.UnmarshalBinary: %w", ErrCorrupt, t, err)
	}
	return nil
}

// decSliceNoscan decodes a slice of pointer-free elements. Their memory is
// allocated as []uint64 (which is 8-byte aligned and needs no pointer
// bitmap), so that this needs no reflect and no pointer to the header.
func decSliceNoscan(b []byte, e *prog) (sliceHeader, int, error) {
	cnt, isNil, pos, err := count(b, e.min)
	if err != nil || isNil {
		return sliceHeader{}, pos, err
	}
	data := unsafe.Pointer(unsafe.SliceData(make([]uint64, (uintptr(cnt)*e.size+7)/8)))
	if len(e.ops) > 0 {
		for j := range cnt {
			m, err := decValue(b[pos:], unsafe.Add(data, uintptr(j)*e.size), e)
			if err != nil {
				return sliceHeader{}, 0, err
			}
			pos += m
		}
	}
	return sliceHeader{data, cnt, cnt}, pos, nil
}

// decSlice decodes a slice of elements with pointers into the slice header
// at q, letting reflect allocate the elements.
func decSlice(b []byte, q unsafe.Pointer, o *op) (int, error) {
	e := o.elem
	cnt, isNil, pos, err := count(b, e.min)
	if err != nil {
		return 0, err
	}
	switch {
	case isNil:
		*(*sliceHeader)(q) = sliceHeader{}
		return pos, nil
	case cnt == 0:
		*(*sliceHeader)(q) = sliceHeader{data: unsafe.Pointer(&emptyArray)}
		return pos, nil
	}
	*(*sliceHeader)(q) = sliceHeader{}
	s := reflect.NewAt(o.typ, q).Elem()
	s.Grow(cnt)
	s.SetLen(cnt)
	data := (*sliceHeader)(q).data
	for j := range cnt {
		m, err := decValue(b[pos:], unsafe.Add(data, uintptr(j)*e.size), e)
		if err != nil {
			return 0, err
		}
		pos += m
	}
	return pos, nil
}

// decPtr decodes a pointer to a value of e's type: tag 0 for nil, or tag 1
// and the value.
func decPtr(b []byte, e *prog) (unsafe.Pointer, int, error) {
	if len(b) == 0 {
		return nil, 0, errTruncated
	}
	switch b[0] {
	case 0:
		return nil, 1, nil
	case 1:
	default:
		return nil, 0, errPtrTag
	}
	if len(b)-1 < e.min {
		return nil, 0, errTruncated
	}
	p := reflect.New(e.typ).UnsafePointer()
	n, err := decValue(b[1:], p, e)
	if err != nil {
		return nil, 0, err
	}
	return p, n + 1, nil
}

// decMap decodes a map and returns its pointer word.
func decMap(b []byte, mi *mapInfo) (unsafe.Pointer, int, error) {
	min := mi.key.min + mi.val.min
	cnt, isNil, pos, err := count(b, min)
	if err != nil || isNil {
		return nil, pos, err
	}
	if min == 0 && cnt > 1 {
		return nil, 0, errMapDup
	}
	m := reflect.MakeMapWithSize(mi.typ, cnt)
	s := mi.pool.Get().(*mapScratch)
	prev := b[:0]
	for range cnt {
		lo := pos
		s.k.SetZero()
		s.v.SetZero()
		n, err := decValue(b[pos:], s.kp, mi.key)
		if err == nil {
			pos += n
			n, err = decValue(b[pos:], s.vp, mi.val)
		}
		if err == nil {
			pos += n
			if bytes.Compare(prev, b[lo:pos]) > 0 {
				err = errMapOrder
			}
		}
		if err != nil {
			s.release(mi)
			return nil, 0, err
		}
		prev = b[lo:pos]
		m.SetMapIndex(s.k, s.v)
	}
	s.release(mi)
	if m.Len() != cnt {
		return nil, 0, errMapDup
	}
	return m.UnsafePointer(), pos, nil
}
