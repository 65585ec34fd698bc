// Code Clang rejects: the plugin must leave the diagnostics to Clang, and not crash on the
// invalid declarations that error recovery leaves in the AST.
template <typename T> struct Box { T value; undeclared_type other; };
struct Incomplete;
struct Self { Self inner; };
int f(Box<int> b, Incomplete i) { return b.value + i.x; }
template <typename T> T g(T a) { struct L { T q; missing r; } l{a}; return l.q; }
int use() { return g(1) + Self{}.x; }
