// Under LTO the pre-link fingerprints do not describe the final code: the unit is marked, so
// hpdiff can refuse it.  The metadata travels through the bitcode into the linked program.
// RUN: %clang -O2 -flto=thin -fuse-ld=lld -fplugin=%plugin %s -o %t
// RUN: %hpdump %t | FileCheck %s
// CHECK: unit {{.*}}lto-marked.c [lto]
int main(void) { return 0; }
