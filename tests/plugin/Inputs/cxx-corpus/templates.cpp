// Templates of every kind, local classes (in templates and in ordinary functions) and constexpr:
// the plugin must see only their instantiations, never a pattern's dependent types.
#include <cstddef>

template <typename T> T local_in_template(T a) {
  struct L { T q; } l{a};
  return l.q;
}

int local_in_function(int a) {
  struct P { int x, y; int sum() const { return x + y; } } p{a, 2};
  return p.sum();
}

template <typename T, std::size_t N> struct Ring {
  T slot[N];
  std::size_t head = 0;
  void put(T v) { slot[head++ % N] = v; }
  T get(std::size_t i) const { return slot[i % N]; }
};

template <typename T> struct Ring<T *, 1> {  // partial specialization
  T *only = nullptr;
  void put(T *v) { only = v; }
  T *get(std::size_t) const { return only; }
};

template <typename... Ts> constexpr std::size_t count_args(Ts...) { return sizeof...(Ts); }

template <typename T> T sum_all(T v) { return v; }
template <typename T, typename... Rest> T sum_all(T v, Rest... rest) { return v + sum_all(rest...); }

constexpr int square(int x) { return x * x; }
static_assert(square(4) == 16, "constexpr evaluates at compile time");

template <typename T> struct Outer {
  template <typename U> struct Inner { T t; U u; };
  template <typename U> static U convert(T t) { Inner<U> i{t, U(t)}; return i.u; }
};

int use_templates(int n) {
  Ring<int, 4> r;
  r.put(n);
  r.put(n + 1);
  static int target;
  Ring<int *, 1> p;
  p.put(&target);
  long s = sum_all(1, 2L, 3, n);
  return local_in_template(n) + local_in_template<short>(2) + local_in_function(n) +
         r.get(1) + (p.get(0) == &target) + (int)count_args(1, 'a', 2.0) + (int)s +
         Outer<int>::convert<long>(n) + square(n);
}
