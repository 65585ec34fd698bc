// part.cpp — the program's C++ part: a global with a constructor, a template, an assert.
#include <cassert>
#include <string>
static std::string label = std::string("part of ") + __FILE__;
template <typename T> T twice(T v) { assert(v < 1000000); return v + v; }
extern "C" int part(int v) { return twice(v) + (int)label.size() % 2; }
