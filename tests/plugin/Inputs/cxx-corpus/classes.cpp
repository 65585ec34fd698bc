// Class features whose layouts are C++-only: virtual and multiple inheritance, unions,
// bitfields, scoped enums; and code shapes: lambdas, exceptions, operators, namespaces.
#include <stdexcept>

namespace shapes {
struct Base { int id; virtual ~Base() {} virtual int area() const { return 0; } };
struct Left : virtual Base { int l; };
struct Right : virtual Base { int r; };
struct Diamond final : Left, Right {
  int d = 7;
  int area() const override { return l * r + d; }
};
struct Named { const char *name; };
struct Both : Named, Base { int area() const override { return 1; } };
} // namespace shapes

namespace {
struct Flags { unsigned ready : 1, mode : 3, : 0, count : 12; };
union Word { int i; float f; unsigned char b[4]; };
enum class Colour : unsigned char { red, green = 5, blue };
int hidden(Flags f) { return f.mode + f.count; }
} // namespace

struct Vec2 {
  int x, y;
  Vec2 operator+(const Vec2 &o) const { return {x + o.x, y + o.y}; }
  bool operator==(const Vec2 &o) const { return x == o.x && y == o.y; }
  int &operator[](int i) { return i ? y : x; }
};

int thrower(int v) {
  if (v < 0)
    throw std::invalid_argument("negative");
  return v * 2;
}

int catcher(int v) {
  try {
    return thrower(v);
  } catch (const std::exception &) {
    return -1;
  } catch (...) {
    return -2;
  }
}

int use_classes(int n) {
  shapes::Diamond dm;
  dm.l = n;
  dm.r = 3;
  shapes::Base *b = &dm;
  shapes::Both both;
  Flags f{1, 5, 100};
  Word w;
  w.i = n;
  Colour c = n ? Colour::blue : Colour::red;
  Vec2 a{1, 2}, z{n, n};
  Vec2 s = a + z;
  s[1] += 1;
  int k = 3;
  auto add = [k](int x) { return x + k; };
  auto generic = [&](auto x) { return x * k; };
  return b->area() + both.area() + hidden(f) + (w.b[0] & 1) + static_cast<int>(c) + s.y +
         (a == z) + add(n) + generic(2) + generic(1L) + catcher(n) + catcher(-n - 1);
}
