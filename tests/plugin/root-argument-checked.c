// root= must name an existing directory: a mistyped or empty root would silently give source
// identities (and __FILE__) other than the release's, and a later fix would not pair with them.
// RUN: not %clang -O2 -fplugin=%plugin -fplugin-arg-hotpatch-root=%t.nowhere -c %s -o %t.o 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: hotpatch: root='{{.*}}.nowhere': no such directory
// RUN: not %clang -O2 -fplugin=%plugin -fplugin-arg-hotpatch-root= -c %s -o %t.o 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: error: hotpatch: root='': no directory given
// RUN: %clang -O2 -fplugin=%plugin -fplugin-arg-hotpatch-root=%S -c %s -o %t.o
int f(void) { return 0; }
