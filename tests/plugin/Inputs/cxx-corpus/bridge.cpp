// The C++ side of the C program: exports C names that run the corpus.
int use_templates(int n);
int use_classes(int n);
extern "C" int call_cxx(int n) { return use_templates(n) + use_classes(n); }
