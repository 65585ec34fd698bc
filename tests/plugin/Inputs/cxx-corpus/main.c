/* The C part of a C program with a C++ part: it calls into the C++ units. */
int use_stdlib(int n);
int call_cxx(int n);
int main(int argc, char **argv) { (void)argv; return use_stdlib(argc) + call_cxx(argc) > 1000; }
