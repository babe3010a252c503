package rest

import (
	"cmp"
	"slices"
)

func sortKV[T any](xs []T, key func(T) string) {
	slices.SortFunc(xs, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}
