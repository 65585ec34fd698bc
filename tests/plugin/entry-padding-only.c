// -fplugin-arg-hotpatch-entry=padding-only: every function keeps its 8 bytes of padding and its
// alignment, but LLVM adds no 2-byte NOP (66 90) before a 1-byte first instruction: a function
// that starts with push starts with it, and hpdump --prologues calls that site patchable only in
// a stopped world ("stopped"), with or without endbr64 first.  A function whose first instruction
// is longer is an ordinary site.  The default (and entry=atomic-site) adds the NOP as before;
// an unknown value is an error naming both.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %clang -O2 -fno-omit-frame-pointer -fplugin=%plugin -fplugin-arg-hotpatch-entry=padding-only -c %s -o %t/pad.o
// RUN: llvm-objdump -d %t/pad.o | FileCheck %s --check-prefix=PAD
// PAD:      <pushes>:
// PAD-NEXT: 55 pushq %rbp
// PAD:      <leaf>:
// PAD-NEXT: 55 pushq %rbp
// RUN: %hpdump --prologues %t/pad.o | FileCheck %s --check-prefix=SITES
// The unit says how it was built, so that hpdiff never compares it with a default build.
// SITES: features= hotpatch-entry=padding-only
// SITES: SITE
// SITES-DAG: +0:5548 stopped {{ *}}pushes
// SITES-DAG: +0:5548 stopped {{ *}}leaf
// RUN: %hpdump --json --prologues %t/pad.o | FileCheck %s --check-prefix=JSON
// JSON: "name":"pushes"{{.*}}"site":"+0:5548 stopped"
//
// Without the frame pointer, leaf's first instruction is 3 bytes long: an ordinary site.
// RUN: %clang -O2 -fplugin=%plugin -fplugin-arg-hotpatch-entry=padding-only -c %s -o %t/leaf.o
// RUN: %hpdump --prologues %t/leaf.o | FileCheck %s --check-prefix=LEAF
// LEAF-NOT: stopped
// LEAF: +0:{{([0-9a-f]{4})}} {{ *}}leaf
//
// endbr64 stays first; the site after it is the push.
// RUN: %clang -O2 -fno-omit-frame-pointer -fcf-protection=full -fplugin=%plugin -fplugin-arg-hotpatch-entry=padding-only -c %s -o %t/cet.o
// RUN: %hpdump --prologues %t/cet.o | FileCheck %s --check-prefix=CET
// CET: +4:5548 stopped {{ *}}pushes
//
// Where the entry block may emit less than the site before the next block starts (it only
// branches, the usual way into a loop; it only returns), a loop header could start inside the
// site, where a thread looping in the old code would run the jump written over it: those keep
// the 2-byte minimum.  At -Os, without it, spin's loop would start at the entry and worker's one
// byte past it (after push %rbx).
// RUN: %clang -Os -fplugin=%plugin -fplugin-arg-hotpatch-entry=padding-only -c %s -o %t/loops.o
// RUN: llvm-objdump -d %t/loops.o | FileCheck %s --check-prefix=LOOPS
// LOOPS:      <spin>:
// LOOPS-NEXT: 66 90 nop
// LOOPS:      <worker>:
// LOOPS-NEXT: 66 90 nop
// LOOPS-NEXT: 53 pushq %rbx
// LOOPS:      <empty>:
// LOOPS-NEXT: 66 90 nop
// LOOPS-NEXT: c3 retq
// LOOPS-NOT:  jmp {{.*}} <{{spin|worker}}{{(\+0x1)?}}>
// RUN: %hpdump --prologues %t/loops.o | FileCheck %s --check-prefix=LOOPSITES
// LOOPSITES-DAG: +0:6690 {{ *}}spin
// LOOPSITES-DAG: +0:6690 {{ *}}worker
// LOOPSITES-DAG: +0:6690 {{ *}}empty
//
// The default, and the default said explicitly: the 2-byte NOP first, an ordinary site.
// RUN: %clang -O2 -fno-omit-frame-pointer -fplugin=%plugin -c %s -o %t/default.o
// RUN: %clang -O2 -fno-omit-frame-pointer -fplugin=%plugin -fplugin-arg-hotpatch-entry=atomic-site -c %s -o %t/atomic.o
// RUN: cmp %t/default.o %t/atomic.o
// RUN: llvm-objdump -d %t/default.o | FileCheck %s --check-prefix=DEFAULT
// DEFAULT:      <pushes>:
// DEFAULT-NEXT: 66 90 nop
// DEFAULT-NEXT: 55 pushq %rbp
// RUN: %hpdump --prologues %t/default.o | FileCheck %s --check-prefix=DEFSITES
// DEFSITES-NOT: stopped
// DEFSITES: +0:6690 {{ *}}pushes
// DEFSITES-NOT: stopped
//
// RUN: not %clang -fplugin=%plugin -fplugin-arg-hotpatch-entry=nop -c %s -o %t/bad.o 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: hotpatch: entry='nop': expected atomic-site {{.*}} or padding-only
extern void sink(int *);
int pushes(int n) {
  int a[8];
  for (int i = 0; i < 8; i++) a[i] = n * i;
  sink(a);
  return a[3];
}
int leaf(int x) { return x * 3 + 1; }
extern int next(void);
extern void consume(int);
void spin(volatile int *p) { for (;;) *p += 1; }
void worker(void) { for (;;) { int x = next(); consume(x); consume(x); } }
void empty(void) {}
