// The standard library's headers: thousands of inline functions and class templates.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Item { std::string name; int weight; };

extern "C" int use_stdlib(int n) {
  std::vector<Item> items;
  for (int i = 0; i < n; i++)
    items.push_back({"item" + std::to_string(i), (i * 7) % 5});
  std::sort(items.begin(), items.end(),
            [](const Item &a, const Item &b) { return a.weight < b.weight; });
  std::map<std::string, int> index;
  for (const Item &it : items)
    index[it.name] = it.weight;
  auto owned = std::make_unique<Item>(Item{"owned", 3});
  std::shared_ptr<Item> shared = std::make_shared<Item>(*owned);
  std::function<int(int)> twice = [](int x) { return 2 * x; };
  return twice((int)index.size()) + shared->weight + (int)std::count_if(
      items.begin(), items.end(), [](const Item &i) { return i.weight > 2; });
}
