// Same source and flags give byte-identical metadata, whatever the build directory.
// RUN: rm -rf %t && mkdir -p %t/src %t/build1/deep/er %t/build2
// RUN: cp %s %t/src/x.c
// RUN: cd %t/build1/deep/er && %clang -O2 -g -fplugin=%plugin -fplugin-arg-hotpatch-root=%t/src -c %t/src/x.c -o out.o
// RUN: cd %t/build2 && %clang -O2 -g -fplugin=%plugin -fplugin-arg-hotpatch-root=%t/src -c ../src/x.c -o other.o
// RUN: llvm-objcopy --dump-section .hotpatch=%t/1.bin %t/build1/deep/er/out.o
// RUN: llvm-objcopy --dump-section .hotpatch=%t/2.bin %t/build2/other.o
// RUN: cmp %t/1.bin %t/2.bin
// RUN: %hpdump %t/build2/other.o | FileCheck %s
// CHECK: unit x.c
// CHECK: function internal {{([0-9a-f]{32})}} - lookup.__uniq.{{[0-9]+}}
struct entry { const char *key; int value; };
static const struct entry table[] = {{"a", 1}, {"b", 2}};
static int lookup(const char *k) {
  for (unsigned i = 0; i < sizeof table / sizeof *table; i++)
    if (k[0] == table[i].key[0]) return table[i].value;
  return -1;
}
int (*use)(const char *) = lookup;
