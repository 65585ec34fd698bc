__attribute__((noinline)) int used(int x) { return x * 2; }
int unused(int x) { return x * 3; }
int main(int argc, char **argv) { (void)argv; return used(argc); }
