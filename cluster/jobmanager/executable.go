package jobmanager

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
)

// headerSize is how much of a job program checkExecutable looks at: an
// ELF header is 52 or 64 bytes.
const headerSize = 64

// elfMachines are the ELF machines of the architectures Go builds for.
var elfMachines = map[string]elf.Machine{
	"386": elf.EM_386, "amd64": elf.EM_X86_64, "arm": elf.EM_ARM, "arm64": elf.EM_AARCH64,
	"loong64": elf.EM_LOONGARCH, "mips": elf.EM_MIPS, "mipsle": elf.EM_MIPS, "mips64": elf.EM_MIPS,
	"mips64le": elf.EM_MIPS, "ppc64": elf.EM_PPC64, "ppc64le": elf.EM_PPC64, "riscv64": elf.EM_RISCV,
	"s390x": elf.EM_S390,
}

// errNotProgram is what a job program that is no compiled binary gets.
var errNotProgram = errors.New("a job program must be a compiled runnel job binary")

// checkExecutable refuses a job program whose first bytes, head, are not
// those of an executable of this platform: an ELF executable of this
// machine on Linux and the other ELF systems, Mach-O on macOS, PE on
// Windows. A script (#!/bin/sh) is refused: what a JobManager runs is a
// job's program, built with runnel, not any command.
func checkExecutable(head []byte) error {
	switch runtime.GOOS {
	case "darwin", "ios":
		for _, magic := range [][]byte{{0xcf, 0xfa, 0xed, 0xfe}, {0xce, 0xfa, 0xed, 0xfe}, {0xca, 0xfe, 0xba, 0xbe}} {
			if bytes.HasPrefix(head, magic) {
				return nil
			}
		}
		return fmt.Errorf("%w (Mach-O); it starts with %s", errNotProgram, describeHead(head))
	case "windows":
		if bytes.HasPrefix(head, []byte("MZ")) {
			return nil
		}
		return fmt.Errorf("%w (PE); it starts with %s", errNotProgram, describeHead(head))
	}
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) || len(head) < 20 {
		return fmt.Errorf("%w (ELF); it starts with %s", errNotProgram, describeHead(head))
	}
	var order binary.ByteOrder = binary.LittleEndian
	if elf.Data(head[elf.EI_DATA]) == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	typ, machine := elf.Type(order.Uint16(head[16:])), elf.Machine(order.Uint16(head[18:]))
	if typ != elf.ET_EXEC && typ != elf.ET_DYN {
		return fmt.Errorf("%w: it is an ELF file of type %v, not an executable", errNotProgram, typ)
	}
	if want, ok := elfMachines[runtime.GOARCH]; ok && machine != want {
		return fmt.Errorf("%w for %s/%s: it is built for %v", errNotProgram, runtime.GOOS, runtime.GOARCH, machine)
	}
	return nil
}

// describeHead shows the first bytes of a file in a message.
func describeHead(head []byte) string {
	if len(head) == 0 {
		return "nothing: it is empty"
	}
	n := min(len(head), 16)
	return fmt.Sprintf("%q", head[:n])
}
